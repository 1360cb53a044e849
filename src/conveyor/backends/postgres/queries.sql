-- Named statements of the PostgreSQL backend, with psycopg's named placeholders. Lists travel
-- as typed arrays (sent in binary) read with unnest, so a batch of any size is one statement.
-- Claims and chores pick rows with FOR UPDATE SKIP LOCKED: concurrent workers never wait on
-- each other. Wake-ups: pg_notify('conveyor_jobs', <queue>) inside the writing statement;
-- PostgreSQL delivers it on commit and drops it on rollback. Inside a statement, comments must
-- not contain a percent sign: psycopg reads placeholders everywhere.

-- name: migration_lock
-- Serializes concurrent migrators; released when the migration's transaction ends.
SELECT pg_advisory_xact_lock(4738462019)

-- name: migrations_table
CREATE TABLE IF NOT EXISTS conveyor_migrations (
    version     integer     PRIMARY KEY,
    name        text        NOT NULL,
    applied_at  timestamptz NOT NULL
)

-- name: applied_migrations
SELECT version FROM conveyor_migrations

-- name: has_migrations
-- Whether the migrations table exists (checked before reading it: nothing is created).
SELECT to_regclass('conveyor_migrations') IS NOT NULL AS present

-- name: record_migration
INSERT INTO conveyor_migrations (version, name, applied_at) VALUES (%(version)s, %(name)s, now())

-- name: insert_jobs
-- Ids are drawn first and handed out in input order (the k-th row gets the k-th smallest id).
-- One row comes back per input row, in input order: its id, or NULL for a duplicate of a
-- unique job (the key is taken by an existing row in a covered state).
WITH drawn AS MATERIALIZED (
    SELECT nextval('conveyor_jobs_id_seq') AS id
      FROM generate_series(1, cardinality(%(names)b::text[]))
), numbered AS (
    SELECT id, row_number() OVER (ORDER BY id) AS ord FROM drawn
), inserted AS (
    INSERT INTO conveyor_jobs (id, name, queue, state, priority, args, kwargs, meta,
                               max_attempts, run_at, inserted_at, unique_key, unique_states,
                               rate_keys, rate_key, concurrency_key, concurrency_limit, cost,
                               batch_id)
    OVERRIDING SYSTEM VALUE
    SELECT n.id, u.name, u.queue, u.state, u.priority, u.args::jsonb, u.kwargs::jsonb,
           u.meta::jsonb, u.max_attempts, u.run_at, %(now)s::timestamptz, u.unique_key,
           u.unique_states, u.rate_keys::jsonb, u.rate_key, u.concurrency_key,
           u.concurrency_limit, u.cost, u.batch_id
      FROM unnest(%(names)b::text[], %(queues)b::text[], %(states)b::text[],
                  %(priorities)b::int[], %(args)b::text[], %(kwargs)b::text[],
                  %(metas)b::text[], %(max_attempts)b::int[], %(run_ats)b::timestamptz[],
                  %(unique_keys)b::text[], %(unique_states)b::int[], %(rate_keys)b::text[],
                  %(rate_key)b::text[], %(concurrency_keys)b::text[],
                  %(concurrency_limits)b::int[], %(costs)b::int[], %(batch_ids)b::bigint[])
           WITH ORDINALITY AS u(name, queue, state, priority, args, kwargs, meta,
                                max_attempts, run_at, unique_key, unique_states, rate_keys,
                                rate_key, concurrency_key, concurrency_limit, cost, batch_id,
                                ord)
      JOIN numbered AS n ON n.ord = u.ord
     ORDER BY u.ord
        ON CONFLICT DO NOTHING
    RETURNING id
), woke AS (
    SELECT count(*) AS n
      FROM (SELECT pg_notify('conveyor_jobs', q) FROM unnest(%(wake)b::text[]) AS q) AS sent
), keys AS (
    SELECT key, ord FROM unnest(%(unique_keys)b::text[]) WITH ORDINALITY AS k(key, ord)
)
SELECT inserted.id, existing.id AS existing_id, existing.state AS existing_state
  FROM numbered CROSS JOIN woke
  LEFT JOIN inserted ON inserted.id = numbered.id
  JOIN keys ON keys.ord = numbered.ord
  LEFT JOIN LATERAL (
      SELECT j.id, j.state FROM conveyor_jobs AS j
       WHERE inserted.id IS NULL AND j.unique_key = keys.key AND {{covered}}
       LIMIT 1) AS existing ON true
 ORDER BY numbered.ord

-- name: insert_one
-- The same for a single job (most enqueues): a plain VALUES row plans far cheaper than the
-- array form. Jobs without a unique key, so no ON CONFLICT: nothing can conflict, and a
-- speculative insert costs the server more than a plain one.
WITH inserted AS (
    INSERT INTO conveyor_jobs (name, queue, state, priority, args, kwargs, meta, max_attempts,
                               run_at, inserted_at, unique_key, unique_states, rate_keys,
                               rate_key, concurrency_key, concurrency_limit, cost, batch_id,
                               waiting_on)
    VALUES (%(name)s, %(queue)s, %(state)s, %(priority)s, %(args)s::jsonb, %(kwargs)s::jsonb,
            %(meta)s::jsonb, %(max_attempts)s, %(run_at)s, %(now)s, %(unique_key)s,
            %(unique_states)s, %(rate_keys)s::jsonb, %(rate_key)s, %(concurrency_key)s,
            %(concurrency_limit)s, %(cost)s, %(batch_id)s, %(waiting_on)s)
    RETURNING id
)
SELECT id, CASE WHEN %(state)s = 'available' THEN pg_notify('conveyor_jobs', %(queue)s) END
  FROM inserted

-- name: insert_unique_one
-- One unique job: one row, its id (new_id) or, for a duplicate (new_id NULL), the whole row
-- holding the key, read in the same statement so the caller needs no second round trip;
-- when a concurrent insert of the key committed only after this statement began, none is
-- seen here (every column NULL) and the caller reads it with find_unique.
WITH inserted AS (
    INSERT INTO conveyor_jobs (name, queue, state, priority, args, kwargs, meta, max_attempts,
                               run_at, inserted_at, unique_key, unique_states, rate_keys,
                               rate_key, concurrency_key, concurrency_limit, cost, batch_id,
                               waiting_on)
    VALUES (%(name)s, %(queue)s, %(state)s, %(priority)s, %(args)s::jsonb, %(kwargs)s::jsonb,
            %(meta)s::jsonb, %(max_attempts)s, %(run_at)s, %(now)s, %(unique_key)s,
            %(unique_states)s, %(rate_keys)s::jsonb, %(rate_key)s, %(concurrency_key)s,
            %(concurrency_limit)s, %(cost)s, %(batch_id)s, %(waiting_on)s)
        ON CONFLICT DO NOTHING
    RETURNING id
), woke AS (
    SELECT count(*) AS n
      FROM (SELECT pg_notify('conveyor_jobs', %(queue)s) FROM inserted
             WHERE %(state)s = 'available') AS sent
)
SELECT inserted.id AS new_id, existing.*
  FROM woke
  LEFT JOIN inserted ON true
  LEFT JOIN LATERAL (
      SELECT j.* FROM conveyor_jobs AS j
       WHERE inserted.id IS NULL AND j.unique_key = %(unique_key)s::text AND {{covered}}
       LIMIT 1) AS existing ON true

-- name: covered
-- The row j's state is one its unique key covers (a fragment; the unique index's predicate).
((j.unique_states >> CASE j.state WHEN 'pending' THEN 0 WHEN 'scheduled' THEN 1
                                  WHEN 'available' THEN 2 WHEN 'running' THEN 3
                                  WHEN 'retryable' THEN 4 WHEN 'completed' THEN 5
                                  WHEN 'discarded' THEN 6 ELSE 7 END) & 1) = 1

-- name: find_unique
SELECT j.unique_key, j.id, j.state FROM conveyor_jobs AS j
 WHERE j.unique_key = ANY(%(keys)s::text[]) AND {{covered}}

-- name: replace_unique
-- on_conflict="replace": a waiting duplicate takes the new arguments, time and priority (a
-- retryable one stays retryable until its new time).
UPDATE conveyor_jobs AS j
   SET args = r.args::jsonb, kwargs = r.kwargs::jsonb, priority = r.priority,
       run_at = r.run_at,
       state = CASE WHEN j.state = 'pending' THEN 'pending'
                    WHEN r.run_at <= %(now)s THEN 'available'
                    WHEN j.state = 'retryable' THEN 'retryable' ELSE 'scheduled' END
  FROM unnest(%(ids)b::bigint[], %(args)b::text[], %(kwargs)b::text[], %(priorities)b::int[],
              %(run_ats)b::timestamptz[]) AS r(id, args, kwargs, priority, run_at)
 WHERE j.id = r.id AND j.state IN ('pending', 'scheduled', 'available', 'retryable')
RETURNING j.id, j.state

-- name: queue_candidates
-- A fragment of `candidates` and `claim_alone`: `open_queue` (the queue is not paused),
-- `plain` (its best unkeyed jobs, passing over full concurrency keys, locked), and the start
-- of `ready` (its rate keys free now that have a waiting job), which each ends its own way.
WITH open_queue AS (
    SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM conveyor_paused_queues
                                WHERE queue = %(queue)s)
), plain AS (
    SELECT id, priority, run_at, rate_keys, cost, concurrency_key, concurrency_limit
      FROM conveyor_jobs AS j, open_queue
     WHERE j.state = 'available' AND j.queue = %(queue)s AND j.rate_key IS NULL
       AND (%(names)s::text[] IS NULL OR j.name = ANY(%(names)s::text[]))
       AND (j.concurrency_key IS NULL OR j.concurrency_limit > (
                SELECT count(*) FROM conveyor_jobs AS r
                 WHERE r.state = 'running' AND r.concurrency_key = j.concurrency_key))
     ORDER BY j.priority, j.run_at, j.id
     LIMIT %(limit)s
       FOR UPDATE OF j SKIP LOCKED
), ready AS (
    SELECT l.key FROM conveyor_limits AS l, open_queue
     WHERE l.blocked_until <= %(now)s AND NOT l.paused
       AND EXISTS (SELECT 1 FROM conveyor_jobs AS w
                    WHERE w.state = 'available' AND w.queue = %(queue)s AND w.rate_key = l.key
                      AND (%(names)s::text[] IS NULL OR w.name = ANY(%(names)s::text[])))

-- name: candidates
-- What one claim may start in a queue, locked for this transaction: unkeyed jobs best first
-- (passing over full concurrency keys), plus the head job of each rate key that is free now,
-- least recently served key first. A long backlog on a blocked key is never scanned. With
-- names (a queue the worker found rather than was given), only jobs of those names.
{{queue_candidates}}
     ORDER BY l.tat
     LIMIT %(limit)s
       FOR UPDATE OF l SKIP LOCKED
), heads AS (
    SELECT h.* FROM ready CROSS JOIN LATERAL (
        SELECT id, priority, run_at, rate_keys, cost, concurrency_key, concurrency_limit
          FROM conveyor_jobs AS k
         WHERE k.state = 'available' AND k.queue = %(queue)s AND k.rate_key = ready.key
           AND (%(names)s::text[] IS NULL OR k.name = ANY(%(names)s::text[]))
         ORDER BY k.priority, k.run_at, k.id
         LIMIT 1
           FOR UPDATE SKIP LOCKED) AS h
)
SELECT * FROM plain UNION ALL SELECT * FROM heads

-- name: claim_alone
-- One queue's claim in one autocommitted statement, when no limit is involved: the queue's
-- best unkeyed jobs (as `candidates` picks them: nothing while the queue is paused, only
-- `names` if given, `FOR UPDATE SKIP LOCKED`) started at once. When a candidate carries a
-- concurrency key, or a rate key is ready in the queue, nothing is started and `keyed` says
-- so: admission decides, in a transaction (`candidates`, `key_states`, ..., `start`). Rows:
-- the started jobs, or one row of NULLs beside `keyed` when none was started.
{{queue_candidates}}
     LIMIT 1
       FOR UPDATE OF l SKIP LOCKED
), keyed AS (
    SELECT EXISTS (SELECT 1 FROM ready)
           OR EXISTS (SELECT 1 FROM plain WHERE concurrency_key IS NOT NULL) AS keyed
), started AS (
    UPDATE conveyor_jobs AS j
       SET state = 'running', attempt = attempt + 1, attempted_at = %(now)s,
           attempted_by = %(worker)s, cancel_requested_at = NULL
      FROM plain, keyed
     WHERE j.id = plain.id AND NOT keyed.keyed
       AND j.state || '' = 'available'  -- by primary key only
    RETURNING j.*
)
SELECT {{job_columns}}, k.keyed FROM keyed AS k LEFT JOIN started AS s ON true

-- name: key_states
-- Locked in key order: admissions on the same key never overlap, and never deadlock. Times
-- in epoch seconds, as admission computes them.
SELECT key, extract(epoch FROM tat)::float8 AS tat,
       extract(epoch FROM blocked_until)::float8 AS blocked_until, paused
  FROM conveyor_limits
 WHERE key = ANY(%(keys)s::text[])
 ORDER BY key
   FOR UPDATE

-- name: lock_concurrency_keys
-- Claims that may admit into the same concurrency keys take turns (advisory locks, class 7 so
-- they never meet the migration lock, taken in the order of the array, which the caller sorts);
-- the count that follows is then read after the other claim's commit, so two workers never both
-- fill a key's limit.
SELECT pg_advisory_xact_lock(7, hashtext(key)) FROM unnest(%(keys)s::text[]) AS key

-- name: running_counts
SELECT concurrency_key, count(*) AS running FROM conveyor_jobs
 WHERE state = 'running' AND concurrency_key = ANY(%(keys)s::text[])
 GROUP BY concurrency_key

-- name: save_keys
-- Parallel arrays: keys, and their times in epoch seconds.
INSERT INTO conveyor_limits (key, tat, blocked_until)
SELECT k, to_timestamp(t), to_timestamp(b)
  FROM unnest(%(keys)s::text[], %(tats)s::float8[], %(blocked)s::float8[]) AS s(k, t, b)
ON CONFLICT (key) DO UPDATE SET tat = excluded.tat, blocked_until = excluded.blocked_until

-- name: start
UPDATE conveyor_jobs
   SET state = 'running', attempt = attempt + 1, attempted_at = %(now)s,
       attempted_by = %(worker)s, cancel_requested_at = NULL
 WHERE id = ANY(%(ids)s::bigint[]) AND state || '' = 'available'  -- by primary key only
RETURNING {{job_columns}}

-- name: job_columns
-- The columns a job is built from (`storedjob.STORED_COLUMNS`), not the whole row: each column
-- returned costs its conversion and transfer for every job claimed.
id, name, queue, state, priority, args, kwargs, meta, attempt, max_attempts, run_at,
inserted_at, attempted_at, finalized_at, attempted_by, errors, result, rate_keys, batch_id

-- name: register_rate_keys
INSERT INTO conveyor_limits (key)
SELECT DISTINCT unnest(%(keys)s::text[])
ON CONFLICT (key) DO NOTHING
RETURNING key

-- name: alone
-- Added to the settling statements that may end a job when they run alone, outside a
-- transaction (a fragment): only jobs nothing follows from - no dependants, no batch. The
-- others are settled in a transaction with what follows.
AND NOT j.has_dependants AND j.batch_id IS NULL

-- name: outcomes
-- One row per outcome of a kind (a fragment): body is the result or the error JSON.
unnest(%(ids)b::bigint[], %(attempts)b::int[], %(bodies)b::text[], %(run_ats)b::timestamptz[])
    AS o(id, attempt, body, run_at)

-- name: settle_guard
-- Compare-and-set (a fragment): only the attempt that was claimed may leave running.
-- `|| ''` keeps the planner from scanning every running job through the state indexes: each
-- outcome is one primary-key lookup (the SQLite backend writes `+state` for the same reason).
j.id = o.id AND j.attempt = o.attempt AND j.state || '' = 'running'

-- name: settled
-- What settling statements return (a fragment): enough to resolve dependants and batches.
j.id, j.state, j.has_dependants, j.batch_id

-- name: append_error
-- The errors with o.body appended, keeping the newest max_errors (a fragment).
CASE WHEN jsonb_array_length(j.errors) >= %(max_errors)s
     THEN (j.errors - 0) || jsonb_build_array(o.body::jsonb)
     ELSE j.errors || jsonb_build_array(o.body::jsonb) END

-- name: complete
UPDATE conveyor_jobs AS j
   SET state = 'completed', finalized_at = %(now)s, result = o.body::jsonb
  FROM {{outcomes}}
 WHERE {{settle_guard}} /*drive*/
RETURNING {{settled}}

-- name: fail
-- Retry at run_at, or discard when run_at is null.
UPDATE conveyor_jobs AS j
   SET state = CASE WHEN o.run_at IS NULL THEN 'discarded' ELSE 'retryable' END,
       run_at = coalesce(o.run_at, j.run_at),
       finalized_at = CASE WHEN o.run_at IS NULL THEN %(now)s::timestamptz END,
       errors = {{append_error}}
  FROM {{outcomes}}
 WHERE {{settle_guard}} /*drive*/
RETURNING {{settled}}

-- name: snooze
-- Back to scheduled without using the attempt.
UPDATE conveyor_jobs AS j
   SET state = 'scheduled', run_at = o.run_at, attempt = j.attempt - 1
  FROM {{outcomes}}
 WHERE {{settle_guard}}
RETURNING {{settled}}

-- name: cancel_running
UPDATE conveyor_jobs AS j
   SET state = 'cancelled', finalized_at = %(now)s, errors = {{append_error}}
  FROM {{outcomes}}
 WHERE {{settle_guard}} /*drive*/
RETURNING {{settled}}

-- name: interrupt
-- Shutdown: back to available at once (keeping its place: run_at unchanged), attempt
-- refunded, reason kept; wakes the queues.
WITH moved AS (
    UPDATE conveyor_jobs AS j
       SET state = 'available', attempt = j.attempt - 1,
           errors = {{append_error}}
      FROM {{outcomes}}
     WHERE {{settle_guard}}
    RETURNING {{settled}}, j.queue
), woke AS (
    SELECT count(*) AS n
      FROM (SELECT pg_notify('conveyor_jobs', queue) FROM moved GROUP BY queue) AS sent
)
SELECT moved.id, moved.state, moved.has_dependants, moved.batch_id FROM moved, woke

-- name: heartbeat
-- Registers or refreshes the worker; returns its running jobs an operator asked to cancel.
-- Stamped with the server's clock when no time is given (the caller's clock is a real one).
WITH beat AS (
    INSERT INTO conveyor_workers (id, queues, started_at, heartbeat_at, host, pid, concurrency)
    VALUES (%(worker)s, %(queues)s::jsonb,
            coalesce(%(now)s::timestamptz, statement_timestamp()),
            coalesce(%(now)s::timestamptz, statement_timestamp()), %(host)s, %(pid)s,
            %(concurrency)s)
    ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at
)
SELECT id FROM conveyor_jobs
 WHERE state = 'running' AND attempted_by = %(worker)s AND cancel_requested_at IS NOT NULL

-- name: retire
DELETE FROM conveyor_workers WHERE id = %(worker)s

-- name: workers
-- Every registered worker with how many jobs it runs now (the running-jobs index by worker).
SELECT w.*, (SELECT count(*) FROM conveyor_jobs AS j
              WHERE j.state = 'running' AND j.attempted_by = w.id) AS running
  FROM conveyor_workers AS w
 ORDER BY w.started_at, w.id

-- name: prune_workers
-- Workers silent for long are gone for good (a crash); their jobs were rescued long ago.
DELETE FROM conveyor_workers WHERE heartbeat_at < %(before)s RETURNING id

-- name: running_jobs
SELECT * FROM conveyor_jobs WHERE state = 'running' AND attempted_by = %(worker)s

-- name: lease
-- Returns a row only when the lease was free, expired, or already ours.
INSERT INTO conveyor_leases (name, holder, expires_at)
VALUES (%(name)s, %(holder)s, %(expires_at)s)
ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
 WHERE conveyor_leases.holder = excluded.holder
    OR conveyor_leases.expires_at <= %(takeover_before)s
RETURNING holder

-- name: release
DELETE FROM conveyor_leases WHERE name = %(name)s AND holder = %(holder)s

-- name: stage
-- Due jobs made available (one row each), waking their queues.
WITH due AS MATERIALIZED (
    SELECT id FROM conveyor_jobs
     WHERE state IN ('scheduled', 'retryable') AND run_at <= %(now)s
     ORDER BY run_at
     LIMIT %(limit)s
       FOR UPDATE SKIP LOCKED
), moved AS (
    UPDATE conveyor_jobs AS j SET state = 'available'
      FROM due
     WHERE j.id = due.id
    RETURNING j.id, j.queue
), woke AS (
    SELECT count(*) AS n
      FROM (SELECT pg_notify('conveyor_jobs', queue) FROM moved GROUP BY queue) AS sent
)
SELECT moved.id FROM moved, woke

-- name: clock_shift
-- How far the server's clock is ahead of the caller's %(now)s, when heartbeats are stamped
-- by the server (`database_clock`): rescue then measures silence on the server's clock (a
-- fragment).
(CASE WHEN %(database_clock)s::boolean THEN statement_timestamp() - %(now)s::timestamptz
      ELSE interval '0' END)

-- name: rescue
-- Running jobs whose worker is gone or silent: retry now, or discard when out of attempts.
-- `run_at` is kept, so an orphan goes back to the head of its queue, not behind the backlog.
-- The error records the attempt it ended.
UPDATE conveyor_jobs AS j
   SET state = CASE WHEN j.attempt >= j.max_attempts THEN 'discarded' ELSE 'retryable' END,
       finalized_at = CASE WHEN j.attempt >= j.max_attempts THEN %(now)s::timestamptz END,
       errors = CASE WHEN jsonb_array_length(j.errors) >= %(max_errors)s
                     THEN (j.errors - 0) || jsonb_build_array(
                              jsonb_set(%(error)s::jsonb, '{attempt}', to_jsonb(j.attempt)))
                     ELSE j.errors || jsonb_build_array(
                              jsonb_set(%(error)s::jsonb, '{attempt}', to_jsonb(j.attempt))) END
 WHERE j.state = 'running'
   AND NOT EXISTS (SELECT 1 FROM conveyor_workers AS w
                    WHERE w.id = j.attempted_by
                      AND w.heartbeat_at >= %(stale_before)s::timestamptz + {{clock_shift}})
   AND (%(witness)s::text IS NULL OR EXISTS (
            SELECT 1 FROM conveyor_workers AS me
             WHERE me.id = %(witness)s::text
               AND me.heartbeat_at >= %(witness_since)s::timestamptz + {{clock_shift}}
               AND me.started_at <= %(witness_since)s::timestamptz + {{clock_shift}}))
RETURNING {{settled}}

-- name: get
SELECT * FROM conveyor_jobs WHERE id = %(id)s

-- name: waiting_queues
-- Queues other than `served` where an available job of one of `names` waits (among its 1000
-- oldest): a loose scan of the (state, queue, id) index finds each queue with one probe, so
-- the cost grows with the number of queues, not of jobs.
WITH RECURSIVE queues AS (
    (SELECT queue FROM conveyor_jobs WHERE state = 'available' ORDER BY queue LIMIT 1)
    UNION ALL
    SELECT (SELECT j.queue FROM conveyor_jobs AS j
             WHERE j.state = 'available' AND j.queue > queues.queue
             ORDER BY j.queue LIMIT 1)
      FROM queues
     WHERE queues.queue IS NOT NULL
)
SELECT q.queue FROM queues AS q
 WHERE q.queue IS NOT NULL AND q.queue <> ALL(%(served)s::text[])
   AND EXISTS (SELECT 1 FROM (SELECT j.name FROM conveyor_jobs AS j
                               WHERE j.state = 'available' AND j.queue = q.queue
                               ORDER BY j.id
                               LIMIT 1000) AS head
                WHERE head.name = ANY(%(names)s::text[]))

-- name: counts
SELECT queue, state, count(*) AS count FROM conveyor_jobs GROUP BY queue, state

-- name: waiting_by_name
SELECT name, state, count(*) AS count FROM conveyor_jobs
 WHERE state IN ('pending', 'scheduled', 'available', 'retryable')
 GROUP BY name, state

-- name: oldest_available
SELECT queue, min(run_at) AS run_at FROM conveyor_jobs WHERE state = 'available' GROUP BY queue

-- name: filter
-- The job filter shared by query, count and the operator actions (a fragment). A null list
-- matches everything.
    NOT %(match_none)s::boolean
    AND (%(ids)s::bigint[] IS NULL OR id = ANY(%(ids)s::bigint[]))
    AND (%(states)s::text[] IS NULL OR state = ANY(%(states)s::text[]))
    AND (%(queues)s::text[] IS NULL OR queue = ANY(%(queues)s::text[]))
    AND (%(names)s::text[] IS NULL OR name = ANY(%(names)s::text[]))
    AND (%(args_contains)s::jsonb IS NULL OR args @> %(args_contains)s::jsonb)
    AND (%(kwargs_contains)s::jsonb IS NULL OR NOT EXISTS (
            SELECT 1 FROM jsonb_each(%(kwargs_contains)s::jsonb) AS want
             WHERE conveyor_jobs.kwargs -> want.key IS DISTINCT FROM want.value))
    AND (%(batch_ids)s::bigint[] IS NULL OR batch_id = ANY(%(batch_ids)s::bigint[]))
    AND (%(inserted_after)s::timestamptz IS NULL
         OR inserted_at >= %(inserted_after)s::timestamptz)
    AND (%(inserted_before)s::timestamptz IS NULL
         OR inserted_at < %(inserted_before)s::timestamptz)
    AND (%(text)s::text IS NULL
         OR (args::text || chr(1) || kwargs::text) ILIKE %(text)s::text)

-- name: drive_state
-- Listings run unprepared, so each is planned with its parameters: the filter's unused
-- tests fold away. Where the filter names one value of a column, the driver adds one of these
-- equalities (the list test alone cannot walk an index in id order), so the page reads that
-- column's index in id order.
AND state = (%(states)s::text[])[1]

-- name: drive_queue
AND queue = (%(queues)s::text[])[1]

-- name: drive_name
AND name = (%(names)s::text[])[1]

-- name: query
SELECT * FROM conveyor_jobs
 WHERE {{filter}}
   AND id > %(after_id)s AND id < %(before_id)s /*drive*/
 ORDER BY id
 LIMIT %(limit)s

-- name: query_newest
SELECT * FROM conveyor_jobs
 WHERE {{filter}}
   AND id > %(after_id)s AND id < %(before_id)s /*drive*/
 ORDER BY id DESC
 LIMIT %(limit)s

-- name: scan_bound
SELECT min(id) AS low, max(id) AS high, count(*) AS count FROM (
    SELECT id FROM conveyor_jobs WHERE id > %(after_id)s AND id < %(before_id)s
     ORDER BY id LIMIT %(rows)s) AS scanned

-- name: scan_bound_newest
SELECT min(id) AS low, max(id) AS high, count(*) AS count FROM (
    SELECT id FROM conveyor_jobs WHERE id > %(after_id)s AND id < %(before_id)s
     ORDER BY id DESC LIMIT %(rows)s) AS scanned

-- name: count
SELECT count(*) FROM (SELECT 1 FROM conveyor_jobs WHERE {{filter}} /*drive*/ LIMIT %(cap)s)
    AS matched

-- name: links
(SELECT 'dependency' AS kind, depends_on AS id FROM conveyor_dependencies
  WHERE job_id = %(id)s ORDER BY depends_on LIMIT %(limit)s)
UNION ALL
(SELECT 'dependant', job_id FROM conveyor_dependencies
  WHERE depends_on = %(id)s ORDER BY job_id LIMIT %(limit)s)

-- name: audit_log
SELECT * FROM conveyor_audit
 WHERE id < %(before_id)s AND (%(actor)s::text IS NULL OR actor = %(actor)s::text)
 ORDER BY id DESC
 LIMIT %(limit)s

-- name: audit_log_of_job
SELECT a.* FROM conveyor_audit_jobs AS t JOIN conveyor_audit AS a ON a.id = t.audit_id
 WHERE t.job_id = %(job_id)s AND t.audit_id < %(before_id)s
   AND (%(actor)s::text IS NULL OR a.actor = %(actor)s::text)
 ORDER BY t.audit_id DESC
 LIMIT %(limit)s

-- name: lock_batches_of
-- The batches of the jobs an operator's action is about to change, locked in id order before
-- any job row: settling locks batches first too, so the two wait rather than deadlock.
SELECT b.id FROM conveyor_batches AS b
 WHERE b.id IN (SELECT batch_id FROM conveyor_jobs WHERE {{filter}} AND batch_id IS NOT NULL)
 ORDER BY b.id
   FOR UPDATE

-- name: change_retry
UPDATE conveyor_jobs
   SET state = 'available', attempt = 0, run_at = %(now)s, finalized_at = NULL
 WHERE {{filter}}
RETURNING id, state, has_dependants, batch_id

-- name: change_cancel
-- Waiting jobs are cancelled at once; running ones get a request their worker acts on.
UPDATE conveyor_jobs
   SET state = CASE WHEN state = 'running' THEN 'running' ELSE 'cancelled' END,
       finalized_at = CASE WHEN state = 'running' THEN NULL ELSE %(now)s::timestamptz END,
       cancel_requested_at = CASE WHEN state = 'running' THEN %(now)s::timestamptz END
 WHERE {{filter}}
RETURNING id, state, has_dependants, batch_id

-- name: change_delete
DELETE FROM conveyor_jobs WHERE {{filter}}
RETURNING id, state, has_dependants, batch_id

-- name: change_edit
-- A new run_at also decides whether a waiting job is due (available) or not (scheduled; a
-- retryable job stays retryable). Final jobs keep their state, unless %(retry)s runs the
-- job again with fresh attempts, at %(run_at)s or now - all in this one statement.
UPDATE conveyor_jobs
   SET priority = coalesce(%(priority)s::int, priority),
       queue = coalesce(%(queue)s::text, queue),
       args = coalesce(%(args)s::jsonb, args),
       kwargs = coalesce(%(kwargs)s::jsonb, kwargs),
       run_at = CASE WHEN %(retry)s THEN coalesce(%(run_at)s::timestamptz, %(now)s)
                     ELSE coalesce(%(run_at)s::timestamptz, run_at) END,
       attempt = CASE WHEN %(retry)s THEN 0 ELSE attempt END,
       finalized_at = CASE WHEN %(retry)s THEN NULL ELSE finalized_at END,
       state = CASE WHEN %(retry)s
                    THEN CASE WHEN coalesce(%(run_at)s::timestamptz, %(now)s) > %(now)s
                              THEN 'scheduled' ELSE 'available' END
                    WHEN %(run_at)s::timestamptz IS NULL
                         OR state NOT IN ('scheduled', 'available', 'retryable') THEN state
                    WHEN %(run_at)s::timestamptz <= %(now)s THEN 'available'
                    WHEN state = 'retryable' THEN 'retryable'
                    ELSE 'scheduled' END
 WHERE {{filter}}
RETURNING id, state, has_dependants, batch_id

-- name: reopen_batches
-- Jobs of these batches run again (an operator's retry): the batches have not finished.
UPDATE conveyor_batches SET finished_at = NULL
 WHERE id = ANY(%(ids)s::bigint[]) AND finished_at IS NOT NULL

-- name: wake
-- Operator actions may make jobs available in any queue.
SELECT pg_notify('conveyor_jobs', '*')

-- name: audit
INSERT INTO conveyor_audit (at, actor, action, filter, count)
VALUES (%(now)s, %(actor)s, %(action)s, %(filter_json)s::jsonb, %(count)s)

-- name: audit_entry
-- The same, returning the entry's id to link it to the jobs it changed (audit_jobs).
INSERT INTO conveyor_audit (at, actor, action, filter, count)
VALUES (%(now)s, %(actor)s, %(action)s, %(filter_json)s::jsonb, %(count)s)
RETURNING id

-- name: audit_jobs
-- The jobs an audited action changed (a job's page lists the actions that touched it).
INSERT INTO conveyor_audit_jobs (job_id, audit_id)
SELECT DISTINCT unnest(%(ids)s::bigint[]), %(audit_id)s
ON CONFLICT DO NOTHING

-- name: prune
WITH doomed AS MATERIALIZED (
    SELECT id FROM conveyor_jobs
     WHERE state = %(state)s AND finalized_at IS NOT NULL AND finalized_at < %(before)s
     LIMIT %(limit)s
       FOR UPDATE SKIP LOCKED
)
DELETE FROM conveyor_jobs AS j USING doomed WHERE j.id = doomed.id
RETURNING j.id

-- name: block_key
INSERT INTO conveyor_limits (key, tat, blocked_until) VALUES (%(key)s, %(until)s, %(until)s)
ON CONFLICT (key) DO UPDATE
   SET tat = greatest(conveyor_limits.tat, excluded.tat),
       blocked_until = greatest(conveyor_limits.blocked_until, excluded.blocked_until)

-- name: pause_queue
INSERT INTO conveyor_paused_queues (queue, paused_at, actor) VALUES (%(queue)s, %(now)s, %(actor)s)
ON CONFLICT (queue) DO NOTHING
RETURNING queue

-- name: resume_queue
WITH gone AS (DELETE FROM conveyor_paused_queues WHERE queue = %(queue)s RETURNING queue)
SELECT queue, pg_notify('conveyor_jobs', queue) FROM gone

-- name: pause_key
INSERT INTO conveyor_limits (key, paused) VALUES (%(key)s, true)
ON CONFLICT (key) DO UPDATE SET paused = true WHERE NOT conveyor_limits.paused
RETURNING key

-- name: resume_key
UPDATE conveyor_limits SET paused = false WHERE key = %(key)s AND paused RETURNING key

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
 WHERE NOT l.paused
   AND EXISTS (SELECT 1 FROM conveyor_jobs AS j
                WHERE j.state = 'available' AND j.rate_key = l.key)

-- Orchestration (see conveyor/orchestrate.py): dependencies, batches, schedules. ------------

-- name: mark_dependencies
-- Jobs about to gain a dependant are flagged (and locked: a dependency that ends at the same
-- time either sees the flag and the new edge, or is seen here as already ended).
UPDATE conveyor_jobs AS j SET has_dependants = true
 WHERE j.id = ANY(%(ids)s::bigint[])
RETURNING {{settled}}

-- name: job_states
SELECT id, state FROM conveyor_jobs WHERE id = ANY(%(ids)s::bigint[])

-- name: add_edges
INSERT INTO conveyor_dependencies (job_id, depends_on, run_on_failure)
SELECT %(job_id)s, d, %(run_on_failure)s FROM unnest(%(ids)s::bigint[]) AS d
RETURNING job_id

-- name: resolve_edges
-- Dependencies that just ended: each edge is resolved once.
UPDATE conveyor_dependencies SET resolved = true
 WHERE depends_on = ANY(%(ids)s::bigint[]) AND NOT resolved
RETURNING job_id, depends_on, run_on_failure

-- name: cancel_dependants
UPDATE conveyor_jobs AS j
   SET state = 'cancelled', finalized_at = %(now)s,
       errors = CASE WHEN jsonb_array_length(j.errors) >= %(max_errors)s
                     THEN (j.errors - 0) || jsonb_build_array(c.error::jsonb)
                     ELSE j.errors || jsonb_build_array(c.error::jsonb) END
  FROM unnest(%(ids)s::bigint[], %(errors)s::text[]) AS c(id, error)
 WHERE j.id = c.id AND j.state = 'pending'
RETURNING {{settled}}

-- name: release_dependants
-- One fewer dependency to wait for; at zero the job is due (or scheduled). Concurrent
-- releases of one job serialize on its row, so the last one always sees zero.
WITH moved AS (
    UPDATE conveyor_jobs AS j
       SET waiting_on = j.waiting_on - c.n,
           state = CASE WHEN j.waiting_on - c.n > 0 THEN 'pending'
                        WHEN j.run_at > %(now)s THEN 'scheduled' ELSE 'available' END
      FROM unnest(%(ids)s::bigint[], %(counts)s::int[]) AS c(id, n)
     WHERE j.id = c.id AND j.state = 'pending'
    RETURNING j.queue, j.state
)
SELECT pg_notify('conveyor_jobs', queue) FROM moved WHERE state = 'available' GROUP BY queue

-- name: open_batch
INSERT INTO conveyor_batches (name, allow_failures, callbacks, created_at)
VALUES (%(name)s, %(allow_failures)s, %(callbacks)s::jsonb, %(now)s)
RETURNING id

-- name: grow_batch
UPDATE conveyor_batches SET total = total + %(count)s
 WHERE id = %(id)s AND cancelled_at IS NULL AND finished_at IS NULL
RETURNING id

-- name: seal_batch
UPDATE conveyor_batches SET sealed = true WHERE id = %(id)s
RETURNING id

-- name: get_batch
SELECT * FROM conveyor_batches WHERE id = %(id)s

-- name: list_batches
SELECT * FROM conveyor_batches ORDER BY id DESC LIMIT %(limit)s

-- name: lock_batches
-- In id order, so settling transactions that touch several batches never deadlock.
SELECT * FROM conveyor_batches WHERE id = ANY(%(ids)s::bigint[]) ORDER BY id FOR UPDATE

-- name: cancel_batch_rest
-- Jobs of the batch that have not started are cancelled; running ones finish.
UPDATE conveyor_jobs AS j
   SET state = 'cancelled', finalized_at = %(now)s,
       errors = CASE WHEN jsonb_array_length(j.errors) >= %(max_errors)s
                     THEN (j.errors - 0) || jsonb_build_array(%(error)s::jsonb)
                     ELSE j.errors || jsonb_build_array(%(error)s::jsonb) END
 WHERE j.batch_id = %(batch_id)s
   AND j.state IN ('pending', 'scheduled', 'available', 'retryable')
RETURNING {{settled}}

-- name: update_batch
UPDATE conveyor_batches
   SET fired = %(fired)s, finished_at = coalesce(finished_at, %(finished_at)s::timestamptz),
       cancelled_at = coalesce(cancelled_at, %(cancelled_at)s::timestamptz)
 WHERE id = %(id)s
RETURNING id

-- name: cancel_batch
-- A cancelled batch takes no more jobs, so it is also complete (sealed).
UPDATE conveyor_batches SET cancelled_at = coalesce(cancelled_at, %(now)s), sealed = true
 WHERE id = %(id)s
RETURNING id

-- name: prune_batches
DELETE FROM conveyor_batches
 WHERE id IN (SELECT id FROM conveyor_batches
               WHERE finished_at IS NOT NULL AND finished_at < %(before)s LIMIT %(limit)s)
RETURNING id

-- name: schedules
SELECT * FROM conveyor_schedules ORDER BY name

-- name: add_schedule
-- A new schedule starts from now: slots before it was first stored are not fired. A stored
-- definition is replaced only by `redefine_schedule` (see conveyor/crontab.py); a row
-- stored by a version that kept none gets this one.
INSERT INTO conveyor_schedules (name, expression, timezone, definition, last_slot, updated_at)
VALUES (%(name)s, %(expression)s, %(timezone)s, %(definition)s, %(now)s, %(now)s)
ON CONFLICT (name) DO UPDATE SET expression = excluded.expression,
                                 timezone = excluded.timezone,
                                 definition = excluded.definition
 WHERE conveyor_schedules.definition IS NULL

-- name: redefine_schedule
-- Compare-and-set on the definition read: a worker starting with new code replaces it;
-- two starting at once cannot interleave. Slot and pause state are kept.
UPDATE conveyor_schedules
   SET expression = %(expression)s, timezone = %(timezone)s, definition = %(definition)s,
       updated_at = %(now)s
 WHERE name = %(name)s AND definition = %(seen)s
RETURNING name

-- name: delete_schedule
DELETE FROM conveyor_schedules WHERE name = %(name)s RETURNING name

-- name: advance_schedule
-- Compare-and-set: exactly one scheduler moves a schedule past a slot.
UPDATE conveyor_schedules SET last_slot = %(slot)s, updated_at = %(now)s
 WHERE name = %(name)s AND last_slot = %(seen)s AND NOT paused
RETURNING name

-- name: pause_schedule
UPDATE conveyor_schedules
   SET paused = %(paused)s, updated_at = %(now)s,
       last_slot = CASE WHEN NOT %(paused)s AND paused THEN greatest(last_slot, %(now)s)
                        ELSE last_slot END
 WHERE name = %(name)s
RETURNING name

-- name: unresolved
-- Ended jobs with dependency edges still open (their settling was cut off): resolve them.
SELECT j.id, j.state, j.has_dependants, j.batch_id FROM conveyor_jobs AS j
 WHERE j.id IN (SELECT DISTINCT d.depends_on FROM conveyor_dependencies AS d
                 WHERE NOT d.resolved)
   AND j.state IN ('completed', 'discarded', 'cancelled')
 LIMIT %(limit)s

-- Metrics (see conveyor/metrics.py): per-minute tallies written in batches by workers. ------

-- name: record_metrics
-- One row per (minute, queue, name) of the tally; a minute another worker wrote already is
-- added to.
INSERT INTO conveyor_metrics (minute, queue, name, completed, failed, retried, cancelled,
                              runtime_sum, runtime_max)
SELECT * FROM unnest(%(minutes)s::timestamptz[], %(queues)s::text[], %(names)s::text[],
                     %(completed)s::bigint[], %(failed)s::bigint[], %(retried)s::bigint[],
                     %(cancelled)s::bigint[], %(runtime_sums)s::float8[],
                     %(runtime_maxes)s::float8[])
ON CONFLICT (minute, queue, name) DO UPDATE
   SET completed = conveyor_metrics.completed + excluded.completed,
       failed = conveyor_metrics.failed + excluded.failed,
       retried = conveyor_metrics.retried + excluded.retried,
       cancelled = conveyor_metrics.cancelled + excluded.cancelled,
       runtime_sum = conveyor_metrics.runtime_sum + excluded.runtime_sum,
       runtime_max = greatest(conveyor_metrics.runtime_max, excluded.runtime_max)

-- name: record_metric_totals
INSERT INTO conveyor_metric_totals (queue, name, completed, failed, retried, cancelled,
                                    runtime_sum)
SELECT queue, name, sum(completed), sum(failed), sum(retried), sum(cancelled),
       sum(runtime_sum)
  FROM unnest(%(queues)s::text[], %(names)s::text[], %(completed)s::bigint[],
              %(failed)s::bigint[], %(retried)s::bigint[], %(cancelled)s::bigint[],
              %(runtime_sums)s::float8[])
       AS r(queue, name, completed, failed, retried, cancelled, runtime_sum)
 GROUP BY queue, name
 ORDER BY queue, name
ON CONFLICT (queue, name) DO UPDATE
   SET completed = conveyor_metric_totals.completed + excluded.completed,
       failed = conveyor_metric_totals.failed + excluded.failed,
       retried = conveyor_metric_totals.retried + excluded.retried,
       cancelled = conveyor_metric_totals.cancelled + excluded.cancelled,
       runtime_sum = conveyor_metric_totals.runtime_sum + excluded.runtime_sum

-- name: metrics
SELECT minute, sum(completed) AS completed, sum(failed) AS failed, sum(retried) AS retried,
       sum(cancelled) AS cancelled, sum(runtime_sum) AS runtime_sum,
       max(runtime_max) AS runtime_max
  FROM conveyor_metrics
 WHERE minute >= %(since)s AND minute <= %(until)s
   AND (%(queue)s::text IS NULL OR queue = %(queue)s::text)
   AND (%(name)s::text IS NULL OR name = %(name)s::text)
 GROUP BY minute
 ORDER BY minute

-- name: metric_totals
SELECT * FROM conveyor_metric_totals ORDER BY queue, name

-- name: prune_metrics
DELETE FROM conveyor_metrics WHERE minute < %(before)s RETURNING minute
