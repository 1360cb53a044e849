-- Named statements of the SQLite backend. Parameters are named (:name).
-- Batches arrive as one JSON array parameter read with json_each, so a batch of any size is
-- one statement; `+state` keeps the planner from scanning by state, so each batch row is one
-- primary-key lookup. Timestamps are integer microseconds since the epoch.

-- name: has_migrations
-- Whether the migrations table exists (checked before reading it: nothing is created).
SELECT EXISTS (SELECT 1 FROM sqlite_master
                WHERE type = 'table' AND name = 'conveyor_migrations') AS present

-- name: applied_migrations
SELECT version FROM conveyor_migrations

-- name: insert_job
INSERT INTO conveyor_jobs (name, queue, state, priority, args, kwargs, meta, max_attempts,
                           run_at, inserted_at, rate_keys, rate_key, concurrency_key,
                           concurrency_limit, cost, batch_id, waiting_on)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)

-- name: insert_plain_job
-- A job without keys, limits, batch or dependencies (a blocking enqueue's common case): the
-- columns it leaves NULL keep their defaults, since the sqlite3 module binds each NULL
-- parameter through an adapter lookup (a tenth of the Python of a single enqueue).
INSERT INTO conveyor_jobs (name, queue, state, priority, args, kwargs, meta, max_attempts,
                           run_at, inserted_at, cost)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)

-- name: insert_unique_job
-- A duplicate (same key, existing row in a covered state) inserts nothing and returns no row.
INSERT INTO conveyor_jobs (name, queue, state, priority, args, kwargs, meta, max_attempts,
                           run_at, inserted_at, rate_keys, rate_key, concurrency_key,
                           concurrency_limit, cost, batch_id, waiting_on, unique_key,
                           unique_states)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT DO NOTHING
RETURNING id

-- name: register_rate_keys
-- Every rate key gets its row when its first job arrives: claims find ready keys there.
INSERT INTO conveyor_limits (key)
SELECT DISTINCT value FROM json_each(:keys)
 WHERE true
ON CONFLICT (key) DO NOTHING
RETURNING key

-- name: find_unique
-- The jobs holding these unique keys (in a state their key covers).
SELECT unique_key, id, state FROM conveyor_jobs
 WHERE unique_key IN (SELECT value FROM json_each(:keys))
   AND (unique_states >> CASE state WHEN 'pending' THEN 0 WHEN 'scheduled' THEN 1
                                    WHEN 'available' THEN 2 WHEN 'running' THEN 3
                                    WHEN 'retryable' THEN 4 WHEN 'completed' THEN 5
                                    WHEN 'discarded' THEN 6 ELSE 7 END) & 1 = 1

-- name: replace_unique
-- on_conflict="replace": a waiting duplicate takes the new arguments, time and priority (a
-- retryable one stays retryable until its new time).
UPDATE conveyor_jobs
   SET args = r.args, kwargs = r.kwargs, priority = r.priority, run_at = r.run_at,
       state = CASE WHEN conveyor_jobs.state = 'pending' THEN 'pending'
                    WHEN r.run_at <= :now THEN 'available'
                    WHEN conveyor_jobs.state = 'retryable' THEN 'retryable'
                    ELSE 'scheduled' END
  FROM (SELECT i.value AS id, a.value AS args, k.value AS kwargs, p.value AS priority,
               t.value AS run_at
          FROM json_each(:ids) AS i JOIN json_each(:args) AS a ON a.key = i.key
          JOIN json_each(:kwargs) AS k ON k.key = i.key
          JOIN json_each(:priorities) AS p ON p.key = i.key
          JOIN json_each(:run_ats) AS t ON t.key = i.key) AS r
 WHERE conveyor_jobs.id = r.id
   AND conveyor_jobs.state IN ('pending', 'scheduled', 'available', 'retryable')
RETURNING conveyor_jobs.id, conveyor_jobs.state

-- name: queue_paused
SELECT 1 FROM conveyor_paused_queues WHERE queue = :queue

-- name: candidates
-- Unkeyed available jobs, best first; jobs whose concurrency key is full are passed over.
-- With names (a queue the worker found rather than was given), only jobs of those names.
-- Running jobs are counted by their key's index: without statistics the planner took the
-- state index and counted every running job, for each keyed candidate.
SELECT id, priority, run_at, rate_keys, cost, concurrency_key, concurrency_limit
  FROM conveyor_jobs
 WHERE state = 'available' AND queue = :queue AND rate_key IS NULL
   AND (:names IS NULL OR name IN (SELECT value FROM json_each(:names)))
   AND (concurrency_key IS NULL OR concurrency_limit > (
            SELECT count(*) FROM conveyor_jobs AS r INDEXED BY conveyor_jobs_concurrency
             WHERE r.state = 'running' AND r.concurrency_key = conveyor_jobs.concurrency_key))
 ORDER BY priority, run_at, id
 LIMIT :limit

-- name: ready
-- Rate keys free to start a job that have one waiting in this queue (included below).
SELECT key FROM conveyor_limits AS l
 WHERE l.blocked_until <= :now AND l.paused = 0
   AND EXISTS (SELECT 1 FROM conveyor_jobs AS j
                WHERE j.state = 'available' AND j.queue = :queue AND j.rate_key = l.key
                  AND (:names IS NULL OR j.name IN (SELECT value FROM json_each(:names))))

-- name: ready_keys
-- Ready rate keys, least recently served first (round robin between keys).
{{ready}}
 ORDER BY l.tat
 LIMIT :limit

-- name: claimable
-- Whether the queue has a job to start at all, read before `claim_alone`: an empty queue (an
-- idle worker's claim, the queues a worker serves first) costs a read, not a write.
SELECT EXISTS (SELECT 1 FROM conveyor_jobs WHERE state = 'available' AND queue = :queue)
       AS claimable

-- name: claim_alone
-- One queue's claim in one autocommitted statement (atomic: SQLite runs one write at a
-- time), when no limit is involved: the queue's best unkeyed jobs, as `candidates` picks
-- them, started as `start` starts them. Nothing is started while the queue is paused, when
-- a candidate carries a concurrency key, or when a rate key is ready in the queue: then
-- admission decides, in a transaction.
WITH plain AS MATERIALIZED (
{{candidates}}
)
UPDATE conveyor_jobs
   SET state = 'running', attempt = attempt + 1, attempted_at = :now, attempted_by = :worker,
       cancel_requested_at = NULL
 WHERE id IN (SELECT id FROM plain)
   AND NOT EXISTS (SELECT 1 FROM conveyor_paused_queues WHERE queue = :queue)
   AND NOT EXISTS (SELECT 1 FROM plain WHERE concurrency_key IS NOT NULL)
   AND NOT EXISTS ({{ready}})
RETURNING {{job_columns}}

-- name: key_head
SELECT id, priority, run_at, rate_keys, cost, concurrency_key, concurrency_limit
  FROM conveyor_jobs
 WHERE state = 'available' AND queue = :queue AND rate_key = :key
   AND (:names IS NULL OR name IN (SELECT value FROM json_each(:names)))
 ORDER BY priority, run_at, id
 LIMIT 1

-- name: key_states
-- Times in epoch seconds, as admission computes them (stored as microseconds). Not locked:
-- the claim's BEGIN IMMEDIATE already holds the write lock.
SELECT key, tat / 1e6 AS tat, blocked_until / 1e6 AS blocked_until, paused
  FROM conveyor_limits
 WHERE key IN (SELECT value FROM json_each(:keys))

-- name: lock_concurrency_keys
-- Nothing to lock: the claim's BEGIN IMMEDIATE already makes claims take turns, so the
-- running jobs counted next cannot change before this claim commits.
SELECT 1 WHERE 0

-- name: running_counts
SELECT concurrency_key, count(*) AS running FROM conveyor_jobs INDEXED BY conveyor_jobs_concurrency
 WHERE state = 'running' AND concurrency_key IN (SELECT value FROM json_each(:keys))
 GROUP BY concurrency_key

-- name: save_keys
-- Parallel JSON arrays: keys, and their times in epoch seconds. The times are read by index
-- (`->> k.key`): joining three json_each scans would scan the arrays once per key.
INSERT INTO conveyor_limits (key, tat, blocked_until)
SELECT k.value, CAST(round((:tats ->> k.key) * 1e6) AS INTEGER),
       CAST(round((:blocked ->> k.key) * 1e6) AS INTEGER)
  FROM json_each(:keys) AS k
 WHERE true  -- an upsert from a SELECT needs a WHERE (SQLite's parsing ambiguity)
ON CONFLICT (key) DO UPDATE SET tat = excluded.tat, blocked_until = excluded.blocked_until

-- name: start
UPDATE conveyor_jobs
   SET state = 'running', attempt = attempt + 1, attempted_at = :now, attempted_by = :worker,
       cancel_requested_at = NULL
 WHERE id IN (SELECT value FROM json_each(:ids)) AND +state = 'available'  -- by primary key
RETURNING {{job_columns}}

-- name: job_columns
-- The columns a job is built from (`storedjob.STORED_COLUMNS`), not the whole row: each column
-- returned costs its conversion to Python for every job claimed.
id, name, queue, state, priority, args, kwargs, meta, attempt, max_attempts, run_at,
inserted_at, attempted_at, finalized_at, attempted_by, errors, result, rate_keys, batch_id

-- name: settled
-- What settling statements return (a fragment): enough to resolve dependants and batches.
conveyor_jobs.id, conveyor_jobs.state, conveyor_jobs.has_dependants, conveyor_jobs.batch_id

-- name: append_error
-- The errors list with this outcome's error appended, keeping the newest :max_errors
-- (a fragment used by the settling statements below).
CASE WHEN json_array_length(errors) >= :max_errors
     THEN json_insert(json_remove(errors, '$[0]'), '$[#]', json(o.value ->> '$.error'))
     ELSE json_insert(errors, '$[#]', json(o.value ->> '$.error')) END

-- name: complete
UPDATE conveyor_jobs
   SET state = 'completed', finalized_at = :now, result = o.value ->> '$.result'
  FROM json_each(:batch) AS o
 WHERE conveyor_jobs.id = o.value ->> '$.id' AND conveyor_jobs.attempt = o.value ->> '$.attempt'
   AND +conveyor_jobs.state = 'running'
RETURNING {{settled}}

-- name: fail
-- Retry at run_at, or discard when run_at is null; appends the error and keeps the last :max_errors.
UPDATE conveyor_jobs
   SET state = CASE WHEN o.value ->> '$.run_at' IS NULL THEN 'discarded' ELSE 'retryable' END,
       run_at = coalesce(o.value ->> '$.run_at', conveyor_jobs.run_at),
       finalized_at = CASE WHEN o.value ->> '$.run_at' IS NULL THEN :now END,
       errors = {{append_error}}
  FROM json_each(:batch) AS o
 WHERE conveyor_jobs.id = o.value ->> '$.id' AND conveyor_jobs.attempt = o.value ->> '$.attempt'
   AND +conveyor_jobs.state = 'running'
RETURNING {{settled}}

-- name: snooze
-- Back to scheduled without using the attempt.
UPDATE conveyor_jobs
   SET state = 'scheduled', run_at = o.value ->> '$.run_at', attempt = attempt - 1
  FROM json_each(:batch) AS o
 WHERE conveyor_jobs.id = o.value ->> '$.id' AND conveyor_jobs.attempt = o.value ->> '$.attempt'
   AND +conveyor_jobs.state = 'running'
RETURNING {{settled}}

-- name: cancel_running
UPDATE conveyor_jobs
   SET state = 'cancelled', finalized_at = :now,
       errors = {{append_error}}
  FROM json_each(:batch) AS o
 WHERE conveyor_jobs.id = o.value ->> '$.id' AND conveyor_jobs.attempt = o.value ->> '$.attempt'
   AND +conveyor_jobs.state = 'running'
RETURNING {{settled}}

-- name: interrupt
-- Shutdown: back to available at once (keeping its place: run_at unchanged), attempt
-- refunded, reason kept.
UPDATE conveyor_jobs
   SET state = 'available', attempt = attempt - 1,
       errors = {{append_error}}
  FROM json_each(:batch) AS o
 WHERE conveyor_jobs.id = o.value ->> '$.id' AND conveyor_jobs.attempt = o.value ->> '$.attempt'
   AND +conveyor_jobs.state = 'running'
RETURNING {{settled}}

-- name: heartbeat
INSERT INTO conveyor_workers (id, queues, started_at, heartbeat_at, host, pid, concurrency)
VALUES (:worker, :queues, :now, :now, :host, :pid, :concurrency)
ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at

-- name: retire
DELETE FROM conveyor_workers WHERE id = :worker

-- name: workers
-- Every registered worker with how many jobs it runs now (the running-jobs index by worker).
SELECT w.*, (SELECT count(*) FROM conveyor_jobs AS j
              WHERE j.state = 'running' AND j.attempted_by = w.id) AS running
  FROM conveyor_workers AS w
 ORDER BY w.started_at, w.id

-- name: prune_workers
-- Workers silent for long are gone for good (a crash); their jobs were rescued long ago.
DELETE FROM conveyor_workers WHERE heartbeat_at < :before RETURNING id

-- name: running_jobs
SELECT * FROM conveyor_jobs WHERE state = 'running' AND attempted_by = :worker

-- name: lease
INSERT INTO conveyor_leases (name, holder, expires_at)
VALUES (:name, :holder, :expires_at)
ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
 WHERE conveyor_leases.holder = excluded.holder OR conveyor_leases.expires_at <= :takeover_before
RETURNING holder

-- name: release
DELETE FROM conveyor_leases WHERE name = :name AND holder = :holder

-- name: stage
-- Due jobs made available (one row each).
UPDATE conveyor_jobs SET state = 'available'
 WHERE id IN (SELECT id FROM conveyor_jobs INDEXED BY conveyor_jobs_due
               WHERE (state = 'scheduled' OR state = 'retryable') AND run_at <= :now
               ORDER BY run_at
               LIMIT :limit)
RETURNING id

-- name: clock_shift
-- How far the database's clock (this host's; julianday('now'), in microseconds) is ahead of
-- the caller's :now, when heartbeats are stamped by it (`database_clock`): rescue then
-- measures silence on that clock (a fragment).
(CASE WHEN :database_clock THEN CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER)
                                - :now ELSE 0 END)

-- name: rescue
-- Running jobs whose worker is gone or silent: retry now, or discard when out of attempts.
-- `run_at` is kept, so an orphan goes back to the head of its queue, not behind the backlog.
UPDATE conveyor_jobs
   SET state = CASE WHEN attempt >= max_attempts THEN 'discarded' ELSE 'retryable' END,
       finalized_at = CASE WHEN attempt >= max_attempts THEN :now END,
       errors = CASE WHEN json_array_length(errors) >= :max_errors
                     THEN json_insert(json_remove(errors, '$[0]'), '$[#]',
                                      json_set(:error, '$.attempt', attempt))
                     ELSE json_insert(errors, '$[#]', json_set(:error, '$.attempt', attempt)) END
 WHERE state = 'running'
   AND NOT EXISTS (SELECT 1 FROM conveyor_workers AS w
                    WHERE w.id = conveyor_jobs.attempted_by
                      AND w.heartbeat_at >= :stale_before + {{clock_shift}})
   AND (:witness IS NULL OR EXISTS (SELECT 1 FROM conveyor_workers AS me
                                     WHERE me.id = :witness
                                       AND me.heartbeat_at >= :witness_since + {{clock_shift}}
                                       AND me.started_at <= :witness_since + {{clock_shift}}))
RETURNING {{settled}}

-- name: get
SELECT * FROM conveyor_jobs WHERE id = :id

-- name: waiting_queues
-- Queues other than :served where an available job of one of :names waits (among its 1000
-- oldest): a loose scan of the (state, queue, id) index finds each queue with one probe, so
-- the cost grows with the number of queues, not of jobs.
WITH RECURSIVE queues(queue) AS (
    SELECT (SELECT queue FROM conveyor_jobs WHERE state = 'available' ORDER BY queue LIMIT 1)
    UNION ALL
    SELECT (SELECT j.queue FROM conveyor_jobs AS j
             WHERE j.state = 'available' AND j.queue > queues.queue
             ORDER BY j.queue LIMIT 1)
      FROM queues
     WHERE queues.queue IS NOT NULL
)
SELECT queue FROM queues
 WHERE queue IS NOT NULL AND queue NOT IN (SELECT value FROM json_each(:served))
   AND EXISTS (SELECT 1 FROM (SELECT j.name FROM conveyor_jobs AS j
                               WHERE j.state = 'available' AND j.queue = queues.queue
                               ORDER BY j.id
                               LIMIT 1000) AS head
                WHERE head.name IN (SELECT value FROM json_each(:names)))

-- name: counts
SELECT queue, state, count(*) AS count FROM conveyor_jobs GROUP BY queue, state

-- name: waiting_by_name
SELECT name, state, count(*) AS count FROM conveyor_jobs
 WHERE state = 'pending' OR state = 'scheduled' OR state = 'available' OR state = 'retryable'
 GROUP BY name, state

-- name: filter
-- The job filter shared by query, count and the operator actions (a fragment, not a statement).
    (:match_none = 0)
    AND (:ids IS NULL OR id IN (SELECT value FROM json_each(:ids)))
    AND (:states IS NULL OR state IN (SELECT value FROM json_each(:states)))
    AND (:queues IS NULL OR queue IN (SELECT value FROM json_each(:queues)))
    AND (:names IS NULL OR name IN (SELECT value FROM json_each(:names)))
    AND (:args_contains IS NULL OR NOT EXISTS (
            SELECT 1 FROM json_each(:args_contains) AS want
             WHERE NOT EXISTS (SELECT 1 FROM json_each(conveyor_jobs.args) AS have
                                WHERE have.type = want.type AND have.value = want.value)))
    AND (:kwargs_contains IS NULL OR NOT EXISTS (
            SELECT 1 FROM json_each(:kwargs_contains) AS want
             WHERE (conveyor_jobs.kwargs -> want.key) IS NOT (:kwargs_contains -> want.key)))
    AND (:batch_ids IS NULL OR batch_id IN (SELECT value FROM json_each(:batch_ids)))
    AND (:inserted_after IS NULL OR inserted_at >= :inserted_after)
    AND (:inserted_before IS NULL OR inserted_at < :inserted_before)
    AND (:text IS NULL OR (args || char(1) || kwargs) LIKE :text ESCAPE '\')

-- name: drive_state
-- The driver adds these to a listing when the filter names one value of the column: an
-- equality the planner can see (the filter's json_each list hides it), so the page walks that
-- column's index in id order instead of scanning the table.
AND state = (:states ->> '$[0]')

-- name: drive_queue
AND queue = (:queues ->> '$[0]')

-- name: drive_name
AND name = (:names ->> '$[0]')

-- name: query
SELECT * FROM conveyor_jobs
 WHERE {{filter}}
   AND id > :after_id AND id < :before_id /*drive*/
 ORDER BY id
 LIMIT :limit

-- name: query_newest
SELECT * FROM conveyor_jobs
 WHERE {{filter}}
   AND id > :after_id AND id < :before_id /*drive*/
 ORDER BY id DESC
 LIMIT :limit

-- name: scan_bound
SELECT min(id) AS low, max(id) AS high, count(*) AS count FROM (
    SELECT id FROM conveyor_jobs WHERE id > :after_id AND id < :before_id
     ORDER BY id LIMIT :rows)

-- name: scan_bound_newest
SELECT min(id) AS low, max(id) AS high, count(*) AS count FROM (
    SELECT id FROM conveyor_jobs WHERE id > :after_id AND id < :before_id
     ORDER BY id DESC LIMIT :rows)

-- name: count
SELECT count(*) AS count FROM (
    SELECT 1 FROM conveyor_jobs WHERE {{filter}} /*drive*/ LIMIT coalesce(:cap, -1))

-- name: links
SELECT 'dependency' AS kind, depends_on AS id FROM (
    SELECT depends_on FROM conveyor_dependencies WHERE job_id = :id
     ORDER BY depends_on LIMIT :limit)
UNION ALL
SELECT 'dependant', job_id FROM (
    SELECT job_id FROM conveyor_dependencies WHERE depends_on = :id
     ORDER BY job_id LIMIT :limit)

-- name: audit_log
SELECT * FROM conveyor_audit
 WHERE id < :before_id AND (:actor IS NULL OR actor = :actor)
 ORDER BY id DESC
 LIMIT :limit

-- name: audit_log_of_job
SELECT a.* FROM conveyor_audit_jobs AS t JOIN conveyor_audit AS a ON a.id = t.audit_id
 WHERE t.job_id = :job_id AND t.audit_id < :before_id AND (:actor IS NULL OR a.actor = :actor)
 ORDER BY t.audit_id DESC
 LIMIT :limit

-- name: change_retry
UPDATE conveyor_jobs
   SET state = 'available', attempt = 0, run_at = :now, finalized_at = NULL
 WHERE {{filter}}
RETURNING {{settled}}

-- name: change_cancel
-- Waiting jobs are cancelled at once; running ones get a request their worker acts on.
UPDATE conveyor_jobs
   SET state = CASE WHEN state = 'running' THEN 'running' ELSE 'cancelled' END,
       finalized_at = CASE WHEN state = 'running' THEN NULL ELSE :now END,
       cancel_requested_at = CASE WHEN state = 'running' THEN :now END
 WHERE {{filter}}
RETURNING {{settled}}

-- name: cancel_requests
SELECT id FROM conveyor_jobs
 WHERE state = 'running' AND attempted_by = :worker AND cancel_requested_at IS NOT NULL

-- name: change_delete
DELETE FROM conveyor_jobs WHERE {{filter}}
RETURNING {{settled}}

-- name: change_edit
-- A new run_at also decides whether a waiting job is due (available) or not (scheduled; a
-- retryable job stays retryable). Final jobs keep their state, unless :retry runs the job
-- again with fresh attempts, at :run_at or now - all in this one statement.
UPDATE conveyor_jobs
   SET priority = coalesce(:priority, priority),
       queue = coalesce(:queue, queue),
       args = coalesce(:args, args),
       kwargs = coalesce(:kwargs, kwargs),
       run_at = CASE WHEN :retry THEN coalesce(:run_at, :now) ELSE coalesce(:run_at, run_at) END,
       attempt = CASE WHEN :retry THEN 0 ELSE attempt END,
       finalized_at = CASE WHEN :retry THEN NULL ELSE finalized_at END,
       state = CASE WHEN :retry THEN CASE WHEN coalesce(:run_at, :now) > :now THEN 'scheduled'
                                         ELSE 'available' END
                    WHEN :run_at IS NULL
                         OR state NOT IN ('scheduled', 'available', 'retryable') THEN state
                    WHEN :run_at <= :now THEN 'available'
                    WHEN state = 'retryable' THEN 'retryable'
                    ELSE 'scheduled' END
 WHERE {{filter}}
RETURNING {{settled}}

-- name: reopen_batches
-- Jobs of these batches run again (an operator's retry): the batches have not finished.
UPDATE conveyor_batches SET finished_at = NULL
 WHERE id IN (SELECT value FROM json_each(:ids)) AND finished_at IS NOT NULL

-- name: audit
INSERT INTO conveyor_audit (at, actor, action, filter, count)
VALUES (:now, :actor, :action, :filter_json, :count)

-- name: audit_entry
-- The same, returning the entry's id to link it to the jobs it changed (audit_jobs).
INSERT INTO conveyor_audit (at, actor, action, filter, count)
VALUES (:now, :actor, :action, :filter_json, :count)
RETURNING id

-- name: audit_jobs
-- The jobs an audited action changed (a job's page lists the actions that touched it).
INSERT INTO conveyor_audit_jobs (job_id, audit_id)
SELECT value, :audit_id FROM json_each(:ids)
 WHERE true
ON CONFLICT DO NOTHING

-- name: oldest_available
SELECT queue, min(run_at) AS run_at FROM conveyor_jobs WHERE state = 'available' GROUP BY queue

-- name: prune
DELETE FROM conveyor_jobs
 WHERE id IN (SELECT id FROM conveyor_jobs INDEXED BY conveyor_jobs_finalized
               WHERE state = :state AND finalized_at IS NOT NULL AND finalized_at < :before
               LIMIT :limit)
RETURNING id

-- name: block_key
INSERT INTO conveyor_limits (key, tat, blocked_until) VALUES (:key, :until, :until)
ON CONFLICT (key) DO UPDATE SET tat = max(tat, excluded.tat),
                                blocked_until = max(blocked_until, excluded.blocked_until)

-- name: pause_queue
INSERT INTO conveyor_paused_queues (queue, paused_at, actor) VALUES (:queue, :now, :actor)
ON CONFLICT (queue) DO NOTHING
RETURNING queue

-- name: resume_queue
DELETE FROM conveyor_paused_queues WHERE queue = :queue RETURNING queue

-- name: pause_key
INSERT INTO conveyor_limits (key, paused) VALUES (:key, 1)
ON CONFLICT (key) DO UPDATE SET paused = 1 WHERE paused = 0
RETURNING key

-- name: resume_key
UPDATE conveyor_limits SET paused = 0 WHERE key = :key AND paused = 1 RETURNING key

-- name: limit_keys
SELECT l.key, l.tat, l.blocked_until, l.paused,
       (SELECT count(*) FROM conveyor_jobs AS j
         WHERE j.state = 'available' AND j.rate_key = l.key) AS waiting
  FROM conveyor_limits AS l
 ORDER BY l.key

-- name: paused_queues
SELECT queue FROM conveyor_paused_queues ORDER BY queue

-- name: next_unblock
-- When the next rate key with waiting jobs frees up; a moment already past means one freed
-- while a claim found nothing (the caller claims again soon rather than idling).
SELECT min(l.blocked_until) AS at FROM conveyor_limits AS l
 WHERE l.paused = 0
   AND EXISTS (SELECT 1 FROM conveyor_jobs AS j
                WHERE j.state = 'available' AND j.rate_key = l.key)

-- Orchestration (see conveyor/orchestrate.py): dependencies, batches, schedules. ------------

-- name: mark_dependencies
-- Jobs about to gain a dependant: flagged, so settling them looks for dependants.
UPDATE conveyor_jobs SET has_dependants = 1
 WHERE id IN (SELECT value FROM json_each(:ids))
RETURNING id, state, has_dependants, batch_id

-- name: job_states
SELECT id, state FROM conveyor_jobs WHERE id IN (SELECT value FROM json_each(:ids))

-- name: add_edges
INSERT INTO conveyor_dependencies (job_id, depends_on, run_on_failure)
SELECT :job_id, value, :run_on_failure FROM json_each(:ids)
RETURNING job_id

-- name: resolve_edges
-- Dependencies that just ended: each edge is resolved once.
UPDATE conveyor_dependencies SET resolved = 1
 WHERE depends_on IN (SELECT value FROM json_each(:ids)) AND resolved = 0
RETURNING job_id, depends_on, run_on_failure

-- name: cancel_dependants
UPDATE conveyor_jobs
   SET state = 'cancelled', finalized_at = :now,
       errors = CASE WHEN json_array_length(errors) >= :max_errors
                     THEN json_insert(json_remove(errors, '$[0]'), '$[#]', json(e.value))
                     ELSE json_insert(errors, '$[#]', json(e.value)) END
  FROM json_each(:ids) AS i JOIN json_each(:errors) AS e ON e.key = i.key
 WHERE conveyor_jobs.id = i.value AND +conveyor_jobs.state = 'pending'
RETURNING {{settled}}

-- name: release_dependants
-- One fewer dependency to wait for; at zero the job is due (or scheduled).
UPDATE conveyor_jobs
   SET waiting_on = waiting_on - c.value,
       state = CASE WHEN waiting_on - c.value > 0 THEN 'pending'
                    WHEN run_at > :now THEN 'scheduled' ELSE 'available' END
  FROM json_each(:ids) AS i JOIN json_each(:counts) AS c ON c.key = i.key
 WHERE conveyor_jobs.id = i.value AND +conveyor_jobs.state = 'pending'
RETURNING conveyor_jobs.id

-- name: open_batch
INSERT INTO conveyor_batches (name, allow_failures, callbacks, created_at)
VALUES (:name, :allow_failures, :callbacks, :now)
RETURNING id

-- name: grow_batch
UPDATE conveyor_batches SET total = total + :count
 WHERE id = :id AND cancelled_at IS NULL AND finished_at IS NULL
RETURNING id

-- name: seal_batch
UPDATE conveyor_batches SET sealed = 1 WHERE id = :id
RETURNING id

-- name: get_batch
SELECT * FROM conveyor_batches WHERE id = :id

-- name: list_batches
SELECT * FROM conveyor_batches ORDER BY id DESC LIMIT :limit

-- name: lock_batches
SELECT * FROM conveyor_batches WHERE id IN (SELECT value FROM json_each(:ids)) ORDER BY id

-- name: lock_batches_of
-- The batches of the jobs an operator's action changes (a write transaction holds them all
-- here; the statement exists so the shared layer reads the same on every engine).
SELECT id FROM conveyor_batches
 WHERE id IN (SELECT batch_id FROM conveyor_jobs WHERE {{filter}} AND batch_id IS NOT NULL)
 ORDER BY id

-- name: cancel_batch_rest
-- Jobs of the batch that have not started are cancelled; running ones finish.
UPDATE conveyor_jobs
   SET state = 'cancelled', finalized_at = :now,
       errors = CASE WHEN json_array_length(errors) >= :max_errors
                     THEN json_insert(json_remove(errors, '$[0]'), '$[#]', json(:error))
                     ELSE json_insert(errors, '$[#]', json(:error)) END
 WHERE batch_id = :batch_id
   AND (state = 'pending' OR state = 'scheduled' OR state = 'available' OR state = 'retryable')
RETURNING {{settled}}

-- name: update_batch
UPDATE conveyor_batches
   SET fired = :fired, finished_at = coalesce(finished_at, :finished_at),
       cancelled_at = coalesce(cancelled_at, :cancelled_at)
 WHERE id = :id
RETURNING id

-- name: cancel_batch
-- A cancelled batch takes no more jobs, so it is also complete (sealed).
UPDATE conveyor_batches SET cancelled_at = coalesce(cancelled_at, :now), sealed = 1
 WHERE id = :id
RETURNING id

-- name: prune_batches
DELETE FROM conveyor_batches
 WHERE id IN (SELECT id FROM conveyor_batches
               WHERE finished_at IS NOT NULL AND finished_at < :before LIMIT :limit)
RETURNING id

-- name: schedules
SELECT * FROM conveyor_schedules ORDER BY name

-- name: add_schedule
-- A new schedule starts from now: slots before it was first stored are not fired. A stored
-- definition is replaced only by `redefine_schedule` (see conveyor/crontab.py); a row
-- stored by a version that kept none gets this one.
INSERT INTO conveyor_schedules (name, expression, timezone, definition, last_slot, updated_at)
VALUES (:name, :expression, :timezone, :definition, :now, :now)
ON CONFLICT (name) DO UPDATE SET expression = excluded.expression,
                                 timezone = excluded.timezone,
                                 definition = excluded.definition
 WHERE conveyor_schedules.definition IS NULL

-- name: redefine_schedule
-- Compare-and-set on the definition read: a worker starting with new code replaces it;
-- two starting at once cannot interleave. Slot and pause state are kept.
UPDATE conveyor_schedules
   SET expression = :expression, timezone = :timezone, definition = :definition,
       updated_at = :now
 WHERE name = :name AND definition = :seen
RETURNING name

-- name: delete_schedule
DELETE FROM conveyor_schedules WHERE name = :name RETURNING name

-- name: advance_schedule
-- Compare-and-set: exactly one scheduler moves a schedule past a slot.
UPDATE conveyor_schedules SET last_slot = :slot, updated_at = :now
 WHERE name = :name AND last_slot = :seen AND paused = 0
RETURNING name

-- name: pause_schedule
UPDATE conveyor_schedules
   SET paused = :paused, updated_at = :now,
       last_slot = CASE WHEN :paused = 0 AND paused = 1 THEN max(last_slot, :now)
                        ELSE last_slot END
 WHERE name = :name
RETURNING name

-- name: unresolved
-- Ended jobs with dependency edges still open (their settling was cut off): resolve them.
SELECT j.id, j.state, j.has_dependants, j.batch_id FROM conveyor_jobs AS j
 WHERE j.id IN (SELECT DISTINCT d.depends_on FROM conveyor_dependencies AS d
                 WHERE d.resolved = 0)
   AND (j.state = 'completed' OR j.state = 'discarded' OR j.state = 'cancelled')
 LIMIT :limit

-- Metrics (see conveyor/metrics.py): per-minute tallies written in batches by workers. ------

-- name: record_metrics
-- Rows arrive as one JSON array of [minute, queue, name, completed, failed, retried,
-- cancelled, runtime_sum, runtime_max]; a minute another worker wrote already is added to.
INSERT INTO conveyor_metrics (minute, queue, name, completed, failed, retried, cancelled,
                              runtime_sum, runtime_max)
SELECT value ->> '$[0]', value ->> '$[1]', value ->> '$[2]', value ->> '$[3]',
       value ->> '$[4]', value ->> '$[5]', value ->> '$[6]', value ->> '$[7]', value ->> '$[8]'
  FROM json_each(:rows)
 WHERE true
ON CONFLICT (minute, queue, name) DO UPDATE
   SET completed = completed + excluded.completed, failed = failed + excluded.failed,
       retried = retried + excluded.retried, cancelled = cancelled + excluded.cancelled,
       runtime_sum = runtime_sum + excluded.runtime_sum,
       runtime_max = max(runtime_max, excluded.runtime_max)

-- name: record_metric_totals
INSERT INTO conveyor_metric_totals (queue, name, completed, failed, retried, cancelled,
                                    runtime_sum)
SELECT value ->> '$[1]', value ->> '$[2]', sum(value ->> '$[3]'), sum(value ->> '$[4]'),
       sum(value ->> '$[5]'), sum(value ->> '$[6]'), sum(value ->> '$[7]')
  FROM json_each(:rows)
 WHERE true
 GROUP BY value ->> '$[1]', value ->> '$[2]'
ON CONFLICT (queue, name) DO UPDATE
   SET completed = completed + excluded.completed, failed = failed + excluded.failed,
       retried = retried + excluded.retried, cancelled = cancelled + excluded.cancelled,
       runtime_sum = runtime_sum + excluded.runtime_sum

-- name: metrics
SELECT minute, sum(completed) AS completed, sum(failed) AS failed, sum(retried) AS retried,
       sum(cancelled) AS cancelled, sum(runtime_sum) AS runtime_sum,
       max(runtime_max) AS runtime_max
  FROM conveyor_metrics
 WHERE minute >= :since AND minute <= :until
   AND (:queue IS NULL OR queue = :queue) AND (:name IS NULL OR name = :name)
 GROUP BY minute
 ORDER BY minute

-- name: metric_totals
SELECT * FROM conveyor_metric_totals ORDER BY queue, name

-- name: prune_metrics
DELETE FROM conveyor_metrics WHERE minute < :before RETURNING minute
