-- Flow control: rate and concurrency limits per key, shared by every worker, and pauses.
-- A job names the rate-limit keys it draws on (JSON array of [key, seconds per slot]), the
-- first of them again in `rate_key` (its partition for claims), at most one concurrency key
-- with its limit, and its cost in slots.
ALTER TABLE conveyor_jobs ADD COLUMN rate_keys jsonb;
ALTER TABLE conveyor_jobs ADD COLUMN rate_key text;
ALTER TABLE conveyor_jobs ADD COLUMN concurrency_key text;
ALTER TABLE conveyor_jobs ADD COLUMN concurrency_limit integer;
ALTER TABLE conveyor_jobs ADD COLUMN cost integer NOT NULL DEFAULT 1;

-- Claims take unkeyed jobs by priority, and keyed jobs from the head of each ready key, so a
-- long backlog on a blocked key is never scanned and cannot starve other keys.
DROP INDEX conveyor_jobs_fetch;
CREATE INDEX conveyor_jobs_fetch ON conveyor_jobs (queue, priority, run_at, id)
    WHERE state = 'available' AND rate_key IS NULL;
CREATE INDEX conveyor_jobs_fetch_keyed ON conveyor_jobs (queue, rate_key, priority, run_at, id)
    WHERE state = 'available' AND rate_key IS NOT NULL;

-- Waiting jobs per rate key, across queues (operators' view, waking idle workers).
CREATE INDEX conveyor_jobs_waiting_key ON conveyor_jobs (rate_key)
    WHERE state = 'available' AND rate_key IS NOT NULL;

CREATE INDEX conveyor_jobs_concurrency ON conveyor_jobs (concurrency_key)
    WHERE state = 'running' AND concurrency_key IS NOT NULL;

-- One row per rate-limit key: GCRA's theoretical arrival time, and until when the key may
-- not start jobs (exhausted, told to back off by the API, or paused by an operator).
CREATE TABLE conveyor_limits (
    key            text        PRIMARY KEY,
    tat            timestamptz NOT NULL DEFAULT 'epoch',
    blocked_until  timestamptz NOT NULL DEFAULT 'epoch',
    paused         boolean     NOT NULL DEFAULT false
);

CREATE TABLE conveyor_paused_queues (
    queue      text        PRIMARY KEY,
    paused_at  timestamptz NOT NULL,
    actor      text        NOT NULL
);
