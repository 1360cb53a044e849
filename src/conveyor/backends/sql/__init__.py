"""The seam written once for every SQL engine, over a small dialect driver.

Claiming jobs with admission of rate-limited and concurrency-limited keys (`claim`), settling
attempts (`finish`), rescuing jobs of lost workers (`rescue`), resolving what a dead worker
left unresolved (`repair`), operator actions (`change`) and the worker loop's single
statements (`retire`, `lease`, `release`, `stage`, `get`, `prune`) make the same decisions on
SQLite and PostgreSQL; only the SQL of each engine's `queries.sql` and the way a transaction
is opened and a statement bound differ. An engine's backend provides that as its driver:

- `transaction(work, pipelined=..., atomic=...)`: run `work` in one write transaction of
  the engine's kind (SQLite: `BEGIN IMMEDIATE` with busy retries; PostgreSQL: a pooled
  connection, pipelined when asked, retried on deadlocks; with `atomic=False`, statements
  that need no transaction, each committed on its own), mapping its errors to Conveyor's;
- `single(work, write=...)`: run `work`, one statement, without an explicit transaction
  where that saves round trips (PostgreSQL: autocommit; SQLite: its usual transaction);
- `statement(name, params)`: one reading statement on its own; `moment(value)`: a stored
  time as a `datetime`;
- `Statements.rows(name, params)`: run one named statement, bound the engine's way;
  `Statements.jobs(name, params)` the same for a statement returning job rows, decoded;
- `Statements.candidates(queue, ...)`: what a claim may start in a queue, as
  `limits.Candidate`s: the one engine-specific statement sequence of claiming (PostgreSQL:
  one statement, `SKIP LOCKED`; SQLite: the queue's unkeyed jobs, then each ready key's head);
- `Statements.follow(plan)`: drive a plan (`sql.plans`): named statements, the engine's bulk
  row write (`inserts.Write`: PostgreSQL binary arrays with `unnest`, SQLite `executemany`),
  and inserts of jobs (dependants, batches, callbacks);
- `caller(connection)` / `acaller(connection)`: a caller's own connection checked for
  transactional enqueue (right engine, same database, usable), running plans blocking or
  async;
- `Statements.wake_all()`: wake workers of every queue once the transaction commits;
- `settle_params(outcomes)` and `filter_params(where)`: parameters in the engine's shape;
- `settle_alone(...)`: settle outcomes of jobs nothing follows from (no dependants, no
  batch) outside a transaction, where that saves round trips (PostgreSQL: one statement per
  kind of outcome, as the hot path always was); SQLite settles none there.

Inserts (`inserts`: unique jobs, dependencies, batch membership, transactional enqueue) and
batches (`batches`) are written here too. Schedules and flow control are still per engine
(each backend's modules); `heartbeat` stays per engine (PostgreSQL refreshes the worker and
reads its cancel requests in one statement, SQLite needs two).
"""

from conveyor.backends.sql.batches import Batches
from conveyor.backends.sql.chores import Chores
from conveyor.backends.sql.claim import Claiming
from conveyor.backends.sql.driver import Statements
from conveyor.backends.sql.inserts import Inserts
from conveyor.backends.sql.settle import Settling


class SqlBackend(Claiming, Settling, Chores, Inserts, Batches):
    """The shared areas of `base.Backend`, one mixin per area; an engine's backend adds its
    driver (see the module's docstring) and what is still its own."""


__all__ = ["SqlBackend", "Statements"]
