-- Flow control: rate and concurrency limits per key, shared by every worker, and pauses.
-- A job names the rate-limit keys it draws on (JSON array), at most one concurrency key with
-- its limit, and its cost in rate units.
ALTER TABLE conveyor_jobs ADD COLUMN rate_keys TEXT;
ALTER TABLE conveyor_jobs ADD COLUMN concurrency_key TEXT;
ALTER TABLE conveyor_jobs ADD COLUMN concurrency_limit INTEGER;
ALTER TABLE conveyor_jobs ADD COLUMN cost INTEGER NOT NULL DEFAULT 1;

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
