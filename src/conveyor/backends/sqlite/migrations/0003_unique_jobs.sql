-- Unique jobs: at most one row per unique_key among rows whose state is in their own
-- unique_states bit mask (bit order: pending, scheduled, available, running, retryable,
-- completed, discarded, cancelled).
ALTER TABLE conveyor_jobs ADD COLUMN unique_key TEXT;
ALTER TABLE conveyor_jobs ADD COLUMN unique_states INTEGER NOT NULL DEFAULT 0;

CREATE UNIQUE INDEX conveyor_jobs_unique ON conveyor_jobs (unique_key)
    WHERE unique_key IS NOT NULL
      AND (unique_states >> CASE state WHEN 'pending' THEN 0 WHEN 'scheduled' THEN 1
                                       WHEN 'available' THEN 2 WHEN 'running' THEN 3
                                       WHEN 'retryable' THEN 4 WHEN 'completed' THEN 5
                                       WHEN 'discarded' THEN 6 ELSE 7 END) & 1 = 1;
