"""The worker loop's single statements, written once for every SQL engine: leaving
(`retire`), the leader's lease (`lease`, `release`), staging due jobs (`stage`) and pruning
finished ones (`prune`).

Each is one statement, atomic on its own, so the driver runs it with `statement` rather than
in a transaction: PostgreSQL sends it alone in autocommit (one round trip instead of three).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TypeVar

from conveyor import model
from conveyor.backends.sql.driver import Driver

T = TypeVar("T")
READS: Mapping[str, frozenset[str] | None] = {
    "retire": None, "lease": frozenset({"holder"}), "release": None,
    "stage": frozenset({"id"}), "prune": frozenset({"id"}),
}
"""Every statement named here, with the result columns read (None: its rows are not read);
checked against each dialect by `tests/contract/test_conformance.py`."""


class Chores(Driver):
    """`retire`, `lease`, `release`, `stage` and `prune` of `base.Backend`."""

    async def retire(self, worker: str) -> None:
        await self.statement("retire", {"worker": worker})

    async def lease(self, name: str, holder: str, ttl: float, now: datetime,
                    patience: float = 0.0) -> bool:
        takeover_before = now - timedelta(seconds=patience)
        rows = await self.statement("lease", {
            "name": name, "holder": holder, "takeover_before": takeover_before,
            "expires_at": now + timedelta(seconds=ttl)})
        return bool(rows) and rows[0]["holder"] == holder

    async def release(self, name: str, holder: str) -> None:
        await self.statement("release", {"name": name, "holder": holder})

    async def stage(self, now: datetime, limit: int) -> int:
        moved = len(await self.statement("stage", {"now": now, "limit": limit}))
        if moved:
            self._notify()
        return moved

    async def prune(self, state: model.JobState, finalized_before: datetime,
                    limit: int) -> int:
        return len(await self.statement("prune", {
            "state": state.value, "before": finalized_before, "limit": limit}))
