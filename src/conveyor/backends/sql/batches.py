"""Batches, written once for every SQL engine (see `conveyor.backends.sql`): opened, grown
and sealed with their jobs in one transaction, read, cancelled and pruned. What follows when
their jobs end is `orchestrate.after_final`, run by whoever ends them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from conveyor import batches, jobrows, model, orchestrate
from conveyor.backends import base
from conveyor.backends.sql import inserts
from conveyor.backends.sql.driver import Driver

if TYPE_CHECKING:
    from conveyor.backends.sql.driver import Statements

T = TypeVar("T")

BATCH = orchestrate.BATCH | {"name", "created_at"}
READS: Mapping[str, frozenset[str]] = {
    "open_batch": frozenset({"id"}), "seal_batch": frozenset(), "cancel_batch": frozenset(),
    "prune_batches": frozenset(), "get_batch": BATCH, "list_batches": BATCH,
}
"""Statements this module runs, with the columns it reads of their rows (checked in each
dialect by `tests/contract/test_conformance.py`)."""


class Batches(Driver):
    """`insert_batch` ... `prune_batches` of `base.Backend`, for any SQL driver."""

    async def insert_batch(self, batch: int | base.BatchSpec, jobs: Sequence[model.NewJob],
                           seal: bool, now: datetime,
                           max_errors: int) -> tuple[int, list[model.Inserted]]:
        async def work(tx: Statements) -> tuple[int, list[model.Inserted]]:
            if isinstance(batch, base.BatchSpec):
                opened = await tx.rows("open_batch", {
                    "name": batch.name, "allow_failures": batch.allow_failures,
                    "callbacks": batch.callbacks_json, "now": now})
                batch_id = int(opened[0]["id"])
            else:
                batch_id = batch
            rows = jobrows.of(jobs).with_shared(batch_id=batch_id)
            inserted = await tx.follow(inserts.plan(rows, now))
            if seal:
                await tx.rows("seal_batch", {"id": batch_id})
                await tx.follow(orchestrate.after_final([], now, max_errors, [batch_id]))
            return batch_id, inserted

        result = await self.transaction(work)
        self._notify()
        return result

    async def get_batch(self, batch_id: int) -> batches.Batch | None:
        rows = await self.statement("get_batch", {"id": batch_id})
        return self._batch_of(rows[0]) if rows else None

    async def list_batches(self, limit: int) -> list[batches.Batch]:
        return [self._batch_of(row) for row in
                await self.statement("list_batches", {"limit": limit})]

    async def cancel_batch(self, batch_id: int, now: datetime, max_errors: int) -> bool:
        async def work(tx: Statements) -> bool:
            if not await tx.rows("cancel_batch", {"id": batch_id, "now": now}):
                return False
            await tx.follow(orchestrate.after_final([], now, max_errors, [batch_id]))
            return True

        return await self.transaction(work)

    async def prune_batches(self, finished_before: datetime, limit: int) -> int:
        async def work(tx: Statements) -> int:
            return len(await tx.rows("prune_batches", {"before": finished_before,
                                                       "limit": limit}))

        return await self.transaction(work, atomic=False)

    def _batch_of(self, row: Mapping[str, Any]) -> batches.Batch:
        def moment(value: Any) -> datetime | None:
            return None if value is None else self.moment(value)

        return batches.batch_of(row, self.moment(row["created_at"]),
                                moment(row["cancelled_at"]), moment(row["finished_at"]))
