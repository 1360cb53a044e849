"""The seam written once for every SQL engine, over a small dialect driver.

Claiming jobs with admission of rate-limited and concurrency-limited keys (`claim`), settling
attempts (`finish`), rescuing jobs of lost workers (`rescue`), resolving what a dead worker
left unresolved (`repair`), operator actions (`change`) and the worker loop's single
statements (`retire`, `lease`, `release`, `stage`, `prune`) make the same decisions on
SQLite and PostgreSQL; only the SQL of each engine's `queries.sql` and the way a transaction
is opened and a statement bound differ. An engine's backend provides that as its driver:

- `transaction(work, pipelined=..., atomic=...)`: run `work` in one write transaction of
  the engine's kind (SQLite: `BEGIN IMMEDIATE` with busy retries; PostgreSQL: a pooled
  connection, pipelined when asked, retried on deadlocks; with `atomic=False`, statements
  that need no transaction, each committed on its own), mapping its errors to Conveyor's;
- `statement(name, params)`: one statement on its own, atomic without an explicit
  transaction (PostgreSQL: one round trip);
- `Statements.rows(name, params)`: run one named statement, bound the engine's way;
  `Statements.job_rows(name, params)` the same for a statement returning job rows, fetched;
  `jobs_of(fetched)` builds their jobs after the transaction (SQLite's write lock is free);
- `moment(value)`, `document(value)`, `job(row)`: a stored time, JSON value or job row as
  Python reads it (SQLite stores integer microseconds and JSON text; `rows.py` of each
  engine);
- `Statements.candidates(queue, ...)`: the rows a claim may start in a queue, the one
  engine-specific statement sequence of claiming (PostgreSQL: one statement, `SKIP LOCKED`;
  SQLite: the queue's unkeyed jobs, then each ready key's head); `Statements.candidate(row)`
  decodes one for admission (only claims that involve limits pay for it);
- `Statements.follow(plan)`: drive a plan (`sql.plans`): named statements, the engine's bulk
  row write (`inserts.Write`: PostgreSQL binary arrays with `unnest`, SQLite `executemany`),
  and inserts of jobs (dependants, batches, callbacks);
- `caller(connection)` / `acaller(connection)`: a caller's own connection checked for
  transactional enqueue (right engine, same database, usable), running plans blocking or
  async;
- `Statements.wake_all()`: wake workers of every queue once the transaction commits;
- `settle_params(outcomes)`, `filter_params(where)`, `metric_params(rows)`: parameters in
  the engine's shape;
- `settle_alone(...)`: settle outcomes of jobs nothing follows from (no dependants, no
  batch) outside a transaction, where that saves round trips (PostgreSQL: one statement per
  kind of outcome, as the hot path always was); SQLite settles none there.

Areas: `claim` (claims with admission), `settle` (finish, rescue, repair, change), `chores`
(the worker loop's single statements), `inserts` (unique jobs, dependencies, batch membership,
transactional enqueue), `batches`, `schedules` (cron), `limits` (pausing queues and keys,
blocking keys, their state), `audit` (the audit trail), `listing` (what operators and workers
read: jobs, counts, links, workers), `metrics` (the workers' tallies). Each declares the
statements it runs (`READS`), which `tests/contract/test_conformance.py` checks in every
dialect. `heartbeat` stays per engine (PostgreSQL refreshes the worker and reads its cancel
requests in one statement, SQLite needs two).
"""

from conveyor.backends.sql.audit import Audit
from conveyor.backends.sql.batches import Batches
from conveyor.backends.sql.chores import Chores
from conveyor.backends.sql.claim import Claiming
from conveyor.backends.sql.driver import Fetched, Statements
from conveyor.backends.sql.inserts import Inserts
from conveyor.backends.sql.limits import Limits
from conveyor.backends.sql.listing import Listing
from conveyor.backends.sql.metrics import Metrics
from conveyor.backends.sql.schedules import Schedules
from conveyor.backends.sql.settle import Settling


class SqlBackend(Claiming, Settling, Chores, Inserts, Batches, Schedules, Limits, Audit,
                 Listing, Metrics):
    """The shared areas of `base.Backend`, one mixin per area; an engine's backend adds its
    driver (see the module's docstring) and what is still its own."""


__all__ = ["Fetched", "SqlBackend", "Statements"]
