"""Settling attempts, rescuing jobs of lost workers, repairing what a dead worker left
unresolved, and operator actions: written once for every SQL engine
(see `conveyor.backends.sql`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from conveyor import changes, orchestrate, outcome
from conveyor.backends import base
from conveyor.backends.sql import binding
from conveyor.backends.sql.driver import Driver, Statements


class Settling(Driver):
    """`finish`, `rescue`, `repair` and `change` of `base.Backend`, for any SQL driver."""

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

        return await self.transaction(work, pipelined=True, settling=True)

    async def rescue(self, stale_before: datetime, now: datetime, error_json: str,
                     max_errors: int, witness: str | None = None,
                     witness_since: datetime | None = None, *,
                     database_clock: bool = False) -> int:
        params = {"stale_before": stale_before, "now": now, "error": error_json,
                  "max_errors": max_errors, "witness": witness,
                  "witness_since": witness_since or stale_before,
                  "database_clock": database_clock}

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
                if ended := binding.ended_by_change(change.verb, rows):
                    await tx.follow(orchestrate.after_final(ended, now, max_errors))
            if reopened := binding.reopened_batches(change, rows):
                await tx.rows("reopen_batches", {"ids": reopened})
            entry = await tx.rows("audit_entry", {
                "now": now, "actor": actor, "action": change.verb, "count": len(rows),
                "filter_json": binding.describe_filter(where)})
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
