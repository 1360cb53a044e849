-- Jobs, workers, leases and the operator audit trail; the PostgreSQL twin of the SQLite schema
-- (SQLite migrations 0001 and 0002), with native types: timestamptz and jsonb.
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
