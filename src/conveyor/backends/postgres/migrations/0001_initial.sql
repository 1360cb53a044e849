-- Jobs, workers, leases and the operator audit trail: the PostgreSQL twin of the SQLite schema
-- (SQLite migrations 0001 to 0003, in one step), with native types: timestamptz and jsonb.
CREATE TABLE conveyor_jobs (
    id            bigint      GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME conveyor_jobs_id_seq)
                              PRIMARY KEY,
    name          text        NOT NULL CHECK (length(name) > 0),
    queue         text        NOT NULL CHECK (length(queue) > 0),
    state         text        NOT NULL CHECK (state IN ('pending', 'scheduled', 'available', 'running',
                                                        'retryable', 'completed', 'discarded', 'cancelled')),
    priority      integer     NOT NULL DEFAULT 0,
    args          jsonb       NOT NULL DEFAULT '[]',
    kwargs        jsonb       NOT NULL DEFAULT '{}',
    meta          jsonb       NOT NULL DEFAULT '{}',
    attempt       integer     NOT NULL DEFAULT 0 CHECK (attempt >= 0),
    max_attempts  integer     NOT NULL DEFAULT 20 CHECK (max_attempts > 0),
    run_at        timestamptz NOT NULL,
    inserted_at   timestamptz NOT NULL,
    attempted_at  timestamptz,
    finalized_at  timestamptz,
    attempted_by  text,
    -- Always an array: settling appends to it and must never fail on a hand-edited row.
    errors        jsonb       NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(errors) = 'array'),
    result        jsonb,
    -- An operator asked to cancel this running job; its worker learns it with its next heartbeat.
    cancel_requested_at timestamptz,
    unique_key    text,
    unique_states integer     NOT NULL DEFAULT 0,
    CHECK (attempt <= max_attempts),
    CHECK (state <> 'running' OR attempt >= 1),
    CHECK ((state IN ('completed', 'discarded', 'cancelled')) = (finalized_at IS NOT NULL))
);

-- Claim: the next available jobs of one queue, best priority first, oldest first.
CREATE INDEX conveyor_jobs_fetch ON conveyor_jobs (queue, priority, run_at, id)
    WHERE state = 'available';
-- Stage: scheduled and retryable jobs that have come due.
CREATE INDEX conveyor_jobs_due ON conveyor_jobs (run_at)
    WHERE state IN ('scheduled', 'retryable');
-- Rescue: running jobs by the worker holding them.
CREATE INDEX conveyor_jobs_running ON conveyor_jobs (attempted_by)
    WHERE state = 'running';
-- Listing and operator filters.
CREATE INDEX conveyor_jobs_state_queue ON conveyor_jobs (state, queue, id);
-- Retention: final jobs by when they were finalized.
CREATE INDEX conveyor_jobs_finalized ON conveyor_jobs (state, finalized_at)
    WHERE finalized_at IS NOT NULL;
-- Unique jobs: at most one row per unique_key among rows whose state is in their own
-- unique_states bit mask (bit order: pending, scheduled, available, running, retryable,
-- completed, discarded, cancelled).
CREATE UNIQUE INDEX conveyor_jobs_unique ON conveyor_jobs (unique_key)
    WHERE unique_key IS NOT NULL
      AND ((unique_states >> CASE state WHEN 'pending' THEN 0 WHEN 'scheduled' THEN 1
                                        WHEN 'available' THEN 2 WHEN 'running' THEN 3
                                        WHEN 'retryable' THEN 4 WHEN 'completed' THEN 5
                                        WHEN 'discarded' THEN 6 ELSE 7 END) & 1) = 1;

CREATE TABLE conveyor_workers (
    id            text        PRIMARY KEY,
    queues        jsonb       NOT NULL DEFAULT '[]',
    started_at    timestamptz NOT NULL,
    heartbeat_at  timestamptz NOT NULL
);

CREATE TABLE conveyor_leases (
    name          text        PRIMARY KEY,
    holder        text        NOT NULL,
    expires_at    timestamptz NOT NULL
);

-- Who did what to which jobs: one row per operator action (retry, cancel, delete, edit).
CREATE TABLE conveyor_audit (
    id      bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at      timestamptz NOT NULL,
    actor   text        NOT NULL,
    action  text        NOT NULL,
    filter  jsonb       NOT NULL,
    count   bigint      NOT NULL
);
