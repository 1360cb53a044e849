"""The seam written once for every SQL engine, over a small dialect driver.

Settling attempts (`finish`), rescuing jobs of lost workers (`rescue`), resolving what a dead
worker left unresolved (`repair`) and operator actions (`change`) make the same decisions on
SQLite and PostgreSQL; only the SQL of each engine's `queries.sql` and the way a transaction
is opened and a statement bound differ. An engine's backend provides that as its driver:

- `transaction(work, pipelined=...)`: run `work` in one write transaction of the engine's
  kind (SQLite: `BEGIN IMMEDIATE` with busy retries; PostgreSQL: a pooled connection,
  pipelined when asked, retried on deadlocks), mapping its errors to Conveyor's;
- `Statements.rows(name, params)`: run one named statement, bound the engine's way;
- `statement(name, params)`: one statement on its own, atomic without an explicit
  transaction (PostgreSQL: one round trip);
- `moment(value)`, `document(value)`, `job(row)`: a stored time, JSON value or job row as
  Python reads it (SQLite stores integer microseconds and JSON text; `rows.py` of each
  engine);
- `Statements.follow(plan)`: drive an `orchestrate` plan (dependants, batches, callbacks);
- `Statements.wake_all()`: wake workers of every queue once the transaction commits;
- `settle_params(outcomes)`, `filter_params(where)`, `metric_params(rows)`: parameters in
  the engine's shape;
- `settle_alone(...)`: settle outcomes of jobs nothing follows from (no dependants, no
  batch) outside a transaction, where that saves round trips (PostgreSQL: one statement per
  kind of outcome, as the hot path always was); SQLite settles none there.

Areas: `settle` (finish, rescue, repair, change), `schedules` (cron), `limits` (pausing
queues and keys, blocking keys, their state), `audit` (the audit trail), `listing` (what
operators and workers read: jobs, counts, links, workers), `metrics` (the workers' tallies).
Each declares the statements it runs (`READS`), which `tests/contract/test_conformance.py`
checks in every dialect. Claims, inserts and batches are still per engine (each backend's
modules), to be moved here one area at a time.
"""

from conveyor.backends.sql.audit import Audit
from conveyor.backends.sql.driver import Statements
from conveyor.backends.sql.limits import Limits
from conveyor.backends.sql.listing import Listing
from conveyor.backends.sql.metrics import Metrics
from conveyor.backends.sql.schedules import Schedules
from conveyor.backends.sql.settle import Settling


class SqlBackend(Settling, Schedules, Limits, Audit, Listing, Metrics):
    """The shared areas of `base.Backend`, one mixin per area; an engine's backend adds its
    driver (see the module's docstring) and what is still its own."""


__all__ = ["SqlBackend", "Statements"]
