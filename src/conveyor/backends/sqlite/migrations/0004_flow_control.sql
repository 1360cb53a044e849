-- Flow control: rate and concurrency limits per key, shared by every worker, and pauses.
-- A job names the rate-limit keys it draws on (JSON array of [key, seconds per slot]), the
-- first of them again in `rate_key` (its partition for claims), at most one concurrency key
-- with its limit, and its cost in slots.
ALTER TABLE conveyor_jobs ADD COLUMN rate_keys TEXT;
ALTER TABLE conveyor_jobs ADD COLUMN rate_key TEXT;
ALTER TABLE conveyor_jobs ADD COLUMN concurrency_key TEXT;
ALTER TABLE conveyor_jobs ADD COLUMN concurrency_limit INTEGER;
ALTER TABLE conveyor_jobs ADD COLUMN cost INTEGER NOT NULL DEFAULT 1;

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

-- Running jobs per concurrency key (admission counts them).
CREATE INDEX conveyor_jobs_concurrency ON conveyor_jobs (concurrency_key)
    WHERE state = 'running' AND concurrency_key IS NOT NULL;

-- One row per rate-limit key: GCRA's theoretical arrival time, and until when the key may
-- not start jobs (exhausted, told to back off by the API, or paused by an operator).
CREATE TABLE conveyor_limits (
    key            TEXT    PRIMARY KEY,
    tat            INTEGER NOT NULL DEFAULT 0,
    blocked_until  INTEGER NOT NULL DEFAULT 0,
    paused         INTEGER NOT NULL DEFAULT 0
);

-- Paused queues: no worker claims from them until resumed.
CREATE TABLE conveyor_paused_queues (
    queue      TEXT    PRIMARY KEY,
    paused_at  INTEGER NOT NULL,
    actor      TEXT    NOT NULL
);
