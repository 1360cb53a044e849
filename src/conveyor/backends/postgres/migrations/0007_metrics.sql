-- Finished attempts per minute and per (queue, job name): what the dashboard's charts and
-- `admin.ametrics` read. Workers add up their outcomes in memory and upsert these rows every
-- few seconds (never a write per job); the leader deletes minutes past
-- Settings.metrics_retention. `failed` counts discarded jobs, `retried` failures that will run
-- again; run times are in seconds, from claim to outcome.
CREATE TABLE conveyor_metrics (
    minute       timestamptz      NOT NULL,
    queue        text             NOT NULL,
    name         text             NOT NULL,
    completed    bigint           NOT NULL DEFAULT 0,
    failed       bigint           NOT NULL DEFAULT 0,
    retried      bigint           NOT NULL DEFAULT 0,
    cancelled    bigint           NOT NULL DEFAULT 0,
    runtime_sum  double precision NOT NULL DEFAULT 0,
    runtime_max  double precision NOT NULL DEFAULT 0,
    PRIMARY KEY (minute, queue, name)
);

-- The same counts since the database was created, never pruned: Prometheus counters.
CREATE TABLE conveyor_metric_totals (
    queue        text             NOT NULL,
    name         text             NOT NULL,
    completed    bigint           NOT NULL DEFAULT 0,
    failed       bigint           NOT NULL DEFAULT 0,
    retried      bigint           NOT NULL DEFAULT 0,
    cancelled    bigint           NOT NULL DEFAULT 0,
    runtime_sum  double precision NOT NULL DEFAULT 0,
    PRIMARY KEY (queue, name)
);
