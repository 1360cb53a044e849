"""The worker loop's single statements, written once for every SQL engine: leaving
(`retire`), the leader's lease (`lease`, `release`), staging due jobs (`stage`), reading one
job (`get`) and pruning finished ones (`prune`).

Each is one statement, atomic on its own, so the driver runs it with `single` rather than in
a transaction: PostgreSQL sends it alone in autocommit (one round trip instead of three);
SQLite runs it in its usual transaction, which costs no round trip.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from conveyor import model
from conveyor.backends.sql.claim import JOB_ROW
from conveyor.backends.sql.driver import Statements

T = TypeVar("T")
READS: Mapping[str, frozenset[str] | None] = {
    "retire": None, "lease": frozenset({"holder"}), "release": None,
    "stage": frozenset({"id"}), "get": JOB_ROW, "prune": frozenset({"id"}),
}
"""Every statement named here, with the result columns read (None: its rows are not read);
checked against each dialect by `tests/contract/test_conformance.py`."""


class Chores:
    """`retire`, `lease`, `release`, `stage`, `get` and `prune` of `base.Backend`."""

    if TYPE_CHECKING:
        async def single(self, work: Callable[[Statements], Awaitable[T]], *,
                         write: bool = True) -> T: ...

        def _notify(self) -> None: ...

    async def retire(self, worker: str) -> None:
        await self.single(lambda tx: tx.rows("retire", {"worker": worker}))

    async def lease(self, name: str, holder: str, ttl: float, now: datetime,
                    patience: float = 0.0) -> bool:
        takeover_before = now - timedelta(seconds=patience)
        rows = await self.single(lambda tx: tx.rows("lease", {
            "name": name, "holder": holder, "takeover_before": takeover_before,
            "expires_at": now + timedelta(seconds=ttl)}))
        return bool(rows) and rows[0]["holder"] == holder

    async def release(self, name: str, holder: str) -> None:
        await self.single(lambda tx: tx.rows("release", {"name": name, "holder": holder}))

    async def stage(self, now: datetime, limit: int) -> int:
        moved = len(await self.single(lambda tx: tx.rows("stage", {"now": now,
                                                                   "limit": limit})))
        if moved:
            self._notify()
        return moved

    async def get(self, job_id: int) -> model.Job | None:
        jobs = await self.single(lambda tx: tx.jobs("get", {"id": job_id}), write=False)
        return jobs[0] if jobs else None

    async def prune(self, state: model.JobState, finalized_before: datetime,
                    limit: int) -> int:
        return len(await self.single(lambda tx: tx.rows("prune", {
            "state": state.value, "before": finalized_before, "limit": limit})))
