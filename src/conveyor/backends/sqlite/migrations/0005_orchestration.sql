-- Orchestration: batches, dependencies between jobs, and cron schedules.

-- A job's batch (never changes once inserted), how many of its dependencies have not
-- resolved yet (it stays `pending` while this is above zero), and whether other jobs wait on
-- it (settling looks at dependants only for such jobs, so plain jobs pay nothing).
ALTER TABLE conveyor_jobs ADD COLUMN batch_id INTEGER;
ALTER TABLE conveyor_jobs ADD COLUMN waiting_on INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conveyor_jobs ADD COLUMN has_dependants INTEGER NOT NULL DEFAULT 0;
CREATE INDEX conveyor_jobs_batch ON conveyor_jobs (batch_id, state) WHERE batch_id IS NOT NULL;

-- One row per dependency edge. `resolved` is set once, when the dependency first ends.
CREATE TABLE conveyor_dependencies (
    job_id          INTEGER NOT NULL,
    depends_on      INTEGER NOT NULL,
    run_on_failure  INTEGER NOT NULL DEFAULT 0,
    resolved        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (job_id, depends_on)
) WITHOUT ROWID;
CREATE INDEX conveyor_dependencies_open ON conveyor_dependencies (depends_on) WHERE resolved = 0;

-- Batches: counters kept by the triggers below, whatever moves a job (workers, rescue,
-- operators); callbacks are job rows encoded as JSON, fired once each (bits in `fired`).
CREATE TABLE conveyor_batches (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT    NOT NULL DEFAULT '',
    total           INTEGER NOT NULL DEFAULT 0,
    completed       INTEGER NOT NULL DEFAULT 0,
    discarded       INTEGER NOT NULL DEFAULT 0,
    cancelled       INTEGER NOT NULL DEFAULT 0,
    allow_failures  INTEGER NOT NULL DEFAULT 0,
    callbacks       TEXT    NOT NULL DEFAULT '[]',
    fired           INTEGER NOT NULL DEFAULT 0,
    sealed          INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    cancelled_at    INTEGER,
    finished_at     INTEGER
);
CREATE INDEX conveyor_batches_finished ON conveyor_batches (finished_at)
    WHERE finished_at IS NOT NULL;

CREATE TRIGGER conveyor_batch_moves AFTER UPDATE OF state ON conveyor_jobs
WHEN new.batch_id IS NOT NULL AND old.state <> new.state
BEGIN
    UPDATE conveyor_batches
       SET completed = completed + (new.state = 'completed') - (old.state = 'completed'),
           discarded = discarded + (new.state = 'discarded') - (old.state = 'discarded'),
           cancelled = cancelled + (new.state = 'cancelled') - (old.state = 'cancelled')
     WHERE id = new.batch_id;
END;

-- Deleting an unfinished job counts as cancelling it; pruning finished jobs changes nothing.
CREATE TRIGGER conveyor_batch_deletes AFTER DELETE ON conveyor_jobs
WHEN old.batch_id IS NOT NULL
 AND NOT (old.state = 'completed' OR old.state = 'discarded' OR old.state = 'cancelled')
BEGIN
    UPDATE conveyor_batches SET cancelled = cancelled + 1 WHERE id = old.batch_id;
END;

-- Cron schedules: the last slot fired (compare-and-set: each slot fires once) and pauses.
CREATE TABLE conveyor_schedules (
    name        TEXT    PRIMARY KEY,
    expression  TEXT    NOT NULL,
    timezone    TEXT    NOT NULL,
    last_slot   INTEGER NOT NULL,
    paused      INTEGER NOT NULL DEFAULT 0,
    updated_at  INTEGER NOT NULL
);
