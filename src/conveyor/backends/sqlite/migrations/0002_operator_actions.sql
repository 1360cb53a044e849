-- Who did what to which jobs: one row per operator action (retry, cancel, delete, edit).
CREATE TABLE conveyor_audit (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      INTEGER NOT NULL,
    actor   TEXT    NOT NULL,
    action  TEXT    NOT NULL,
    filter  TEXT    NOT NULL,
    count   INTEGER NOT NULL
);

-- Retention: final jobs by when they were finalized.
CREATE INDEX conveyor_jobs_finalized ON conveyor_jobs (state, finalized_at)
    WHERE finalized_at IS NOT NULL;

-- An operator asked to cancel this running job; its worker learns it with its next heartbeat.
ALTER TABLE conveyor_jobs ADD COLUMN cancel_requested_at INTEGER;
