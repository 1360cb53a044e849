"""The seam written once for every SQL engine, over a small dialect driver.

Claiming jobs with admission of rate-limited and concurrency-limited keys (`claim`), settling
attempts (`finish`), rescuing jobs of lost workers (`rescue`), resolving what a dead worker
left unresolved (`repair`), operator actions (`change`) and the worker loop's single
statements (`retire`, `lease`, `release`, `stage`, `get`, `prune`) make the same decisions on
SQLite and PostgreSQL; only the SQL of each engine's `queries.sql` and the way a transaction
is opened and a statement bound differ. An engine's backend provides that as its driver:

- `transaction(work, pipelined=...)`: run `work` in one write transaction of the engine's
  kind (SQLite: `BEGIN IMMEDIATE` with busy retries; PostgreSQL: a pooled connection,
  pipelined when asked, retried on deadlocks), mapping its errors to Conveyor's;
- `single(work, write=...)`: run `work`, one statement, without an explicit transaction
  where that saves round trips (PostgreSQL: autocommit; SQLite: its usual transaction);
- `Statements.rows(name, params)`: run one named statement, bound the engine's way;
  `Statements.jobs(name, params)` the same for a statement returning job rows, decoded;
- `Statements.candidates(queue, ...)`: the rows a claim may start in a queue, the one
  engine-specific statement sequence of claiming (PostgreSQL: one statement, `SKIP LOCKED`;
  SQLite: the queue's unkeyed jobs, then each ready key's head); `Statements.candidate(row)`
  decodes one for admission (only claims that involve limits pay for it);
- `Statements.follow(plan)`: drive an `orchestrate` plan (dependants, batches, callbacks);
- `Statements.wake_all()`: wake workers of every queue once the transaction commits;
- `settle_params(outcomes)` and `filter_params(where)`: parameters in the engine's shape;
- `settle_alone(...)`: settle outcomes of jobs nothing follows from (no dependants, no
  batch) outside a transaction, where that saves round trips (PostgreSQL: one statement per
  kind of outcome, as the hot path always was); SQLite settles none there.

Inserts, batches, schedules and flow control are still per engine (each backend's
modules), to be moved here one area at a time; `heartbeat` stays per engine (PostgreSQL
refreshes the worker and reads its cancel requests in one statement, SQLite needs two).
"""

from conveyor.backends.sql.chores import Chores
from conveyor.backends.sql.claim import Claiming
from conveyor.backends.sql.driver import Statements
from conveyor.backends.sql.settle import Settling


class SqlBackend(Claiming, Settling, Chores):
    """The shared areas of `base.Backend`, one mixin per area; an engine's backend adds its
    driver (see the module's docstring) and what is still its own."""


__all__ = ["SqlBackend", "Statements"]
