"""The seam's settling side written once for every SQL engine, over a small dialect driver.

Settling attempts (`finish`), rescuing jobs of lost workers (`rescue`), resolving what a dead
worker left unresolved (`repair`) and operator actions (`change`) make the same decisions on
SQLite and PostgreSQL; only the SQL of each engine's `queries.sql` and the way a transaction
is opened and a statement bound differ. An engine's backend provides that as its driver:

- `transaction(work, pipelined=...)`: run `work` in one write transaction of the engine's
  kind (SQLite: `BEGIN IMMEDIATE` with busy retries; PostgreSQL: a pooled connection,
  pipelined when asked, retried on deadlocks), mapping its errors to Conveyor's;
- `Statements.rows(name, params)`: run one named statement, bound the engine's way;
- `Statements.follow(plan)`: drive an `orchestrate` plan (dependants, batches, callbacks);
- `Statements.wake_all()`: wake workers of every queue once the transaction commits;
- `settle_params(outcomes)` and `filter_params(where)`: parameters in the engine's shape;
- `settle_alone(...)`: settle outcomes of jobs nothing follows from (no dependants, no
  batch) outside a transaction, where that saves round trips (PostgreSQL: one statement per
  kind of outcome, as the hot path always was); SQLite settles none there.

Claims, inserts, batches, schedules and flow control are still per engine (each backend's
modules), to be moved here one area at a time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from conveyor import changes, orchestrate, outcome
from conveyor.backends import base

T = TypeVar("T")


class Statements(Protocol):
    """Named statements on one connection, inside the driver's transaction."""

    async def rows(self, name: str, params: Mapping[str, Any], *,
                   planned: bool = False) -> Sequence[Mapping[str, Any]]:
        """Run statement `name`; its rows (none for a statement that returns none). With
        `planned`, planned for these parameters (a filter's plan depends on them)."""
        ...

    async def follow(self, plan: orchestrate.Plan) -> None:
        """Run every step of an `orchestrate` plan here."""
        ...

    async def wake_all(self) -> None:
        """Workers of every queue look for jobs once this transaction commits."""
        ...


class SqlBackend:
    """`finish`, `rescue`, `repair` and `change` of `base.Backend`, for any SQL driver."""

    if TYPE_CHECKING:
        async def transaction(self, work: Callable[[Statements], Awaitable[T]], *,
                              pipelined: bool = False) -> T: ...

        def settle_params(self, outcomes: Sequence[outcome.Outcome],
                          ) -> dict[str, dict[str, Any]]: ...

        def filter_params(self, where: base.JobFilter) -> dict[str, Any]: ...

        async def settle_alone(self, by_statement: dict[str, dict[str, Any]], now: datetime,
                               max_errors: int) -> set[int]: ...

        def _notify(self) -> None: ...

    async def finish(self, outcomes: Sequence[outcome.Outcome], now: datetime,
                     max_errors: int) -> base.Settled:
        """Jobs nothing follows from may be settled first by the driver on their own, one
        statement per kind of outcome without a transaction (`settle_alone`); the rest in
        one transaction (pipelined where the engine can): batch rows locked first, then one
        statement per kind of outcome, then what follows from the jobs that ended."""
        if not outcomes:
            return base.Settled(frozenset(), frozenset())
        alone: set[int] = set()
        if plain := [o for o in outcomes if o.batch_id is None]:
            alone = await self.settle_alone(self.settle_params(plain), now, max_errors)
        rest = [o for o in outcomes if o.job_id not in alone]
        written = alone | (await self._settle_together(rest, now, max_errors) if rest else set())
        if any(isinstance(o, outcome.Interrupted) for o in outcomes):
            self._notify()
        asked = {o.job_id for o in outcomes}
        return base.Settled(frozenset(written), frozenset(asked - written))

    async def _settle_together(self, outcomes: Sequence[outcome.Outcome], now: datetime,
                               max_errors: int) -> set[int]:
        """Outcomes whose jobs other jobs or a batch follow, in one transaction with what
        follows (and those of lost leases, which write nothing)."""
        by_statement = self.settle_params(outcomes)
        batch_ids = outcome.batches_of(outcomes)

        async def work(tx: Statements) -> set[int]:
            if batch_ids:  # before any job row: operator actions lock in this order too
                await tx.rows("lock_batches", {"ids": batch_ids})
            written: set[int] = set()
            finals: list[orchestrate.Final] = []
            for statement, params in by_statement.items():
                rows = await tx.rows(statement, {**params, "now": now,
                                                 "max_errors": max_errors})
                written.update(int(row["id"]) for row in rows)
                finals += orchestrate.finals_of(rows)
            if finals:
                await tx.follow(orchestrate.after_final(finals, now, max_errors))
            return written

        return await self.transaction(work, pipelined=True)

    async def rescue(self, stale_before: datetime, now: datetime, error_json: str,
                     max_errors: int, witness: str | None = None,
                     witness_since: datetime | None = None) -> int:
        params = {"stale_before": stale_before, "now": now, "error": error_json,
                  "max_errors": max_errors, "witness": witness,
                  "witness_since": witness_since or stale_before}

        async def work(tx: Statements) -> int:
            rows = await tx.rows("rescue", params)
            if finals := orchestrate.finals_of(rows):
                await tx.follow(orchestrate.after_final(finals, now, max_errors))
            return len(rows)

        return await self.transaction(work)

    async def repair(self, now: datetime, max_errors: int) -> int:
        async def work(tx: Statements) -> int:
            rows = await tx.rows("unresolved", {"limit": 1000})
            if rows:
                await tx.follow(orchestrate.after_final(
                    [orchestrate.Final.of(row) for row in rows], now, max_errors))
            return len(rows)

        return await self.transaction(work)

    async def change(self, where: base.JobFilter, change: changes.Change, now: datetime,
                     actor: str, max_errors: int) -> base.Changed:
        params: dict[str, Any] = {**self.filter_params(where), "now": now}
        if isinstance(change, changes.EditJobs):
            params.update(priority=change.priority, queue=change.queue, args=change.args_json,
                          kwargs=change.kwargs_json, run_at=change.run_at, retry=change.retry)

        async def work(tx: Statements) -> base.Changed:
            # Batch rows first, in id order, as settling does: the two cannot deadlock.
            await tx.rows("lock_batches_of", params, planned=True)
            rows = await tx.rows(f"change_{change.verb}", params, planned=True)
            requested = 0
            if change.verb in ("cancel", "delete"):
                requested = sum(row["state"] == "running" for row in rows)
                if ended := base.ended_by_change(change.verb, rows):
                    await tx.follow(orchestrate.after_final(ended, now, max_errors))
            if reopened := base.reopened_batches(change, rows):
                await tx.rows("reopen_batches", {"ids": reopened})
            entry = await tx.rows("audit_entry", {
                "now": now, "actor": actor, "action": change.verb, "count": len(rows),
                "filter_json": base.describe_filter(where)})
            if rows:
                await tx.rows("audit_jobs", {"audit_id": entry[0]["id"],
                                             "ids": [int(row["id"]) for row in rows]})
                if change.verb in ("retry", "edit"):
                    await tx.wake_all()
            return base.Changed(len(rows), requested)

        changed = await self.transaction(work)
        if changed.count:
            self._notify()
        return changed
