-- Flow control: rate and concurrency limits per key, shared by every worker, and pauses.
-- A job names the rate-limit keys it draws on, at most one concurrency key with its limit,
-- and its cost in rate units.
ALTER TABLE conveyor_jobs ADD COLUMN rate_keys text[];
ALTER TABLE conveyor_jobs ADD COLUMN concurrency_key text;
ALTER TABLE conveyor_jobs ADD COLUMN concurrency_limit integer;
ALTER TABLE conveyor_jobs ADD COLUMN cost integer NOT NULL DEFAULT 1;

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
