-- Finished attempts per minute and per (queue, job name): what the dashboard's charts and
-- `admin.ametrics` read. Workers add up their outcomes in memory and upsert these rows every
-- few seconds (never a write per job); the leader deletes minutes past
-- Settings.metrics_retention. `failed` counts discarded jobs, `retried` failures that will run
-- again; run times are in seconds, from claim to outcome.
CREATE TABLE conveyor_metrics (
    minute       INTEGER NOT NULL,
    queue        TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    completed    INTEGER NOT NULL DEFAULT 0,
    failed       INTEGER NOT NULL DEFAULT 0,
    retried      INTEGER NOT NULL DEFAULT 0,
    cancelled    INTEGER NOT NULL DEFAULT 0,
    runtime_sum  REAL    NOT NULL DEFAULT 0,
    runtime_max  REAL    NOT NULL DEFAULT 0,
    PRIMARY KEY (minute, queue, name)
) WITHOUT ROWID;

-- The same counts since the database was created, never pruned: Prometheus counters.
CREATE TABLE conveyor_metric_totals (
    queue        TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    completed    INTEGER NOT NULL DEFAULT 0,
    failed       INTEGER NOT NULL DEFAULT 0,
    retried      INTEGER NOT NULL DEFAULT 0,
    cancelled    INTEGER NOT NULL DEFAULT 0,
    runtime_sum  REAL    NOT NULL DEFAULT 0,
    PRIMARY KEY (queue, name)
) WITHOUT ROWID;
