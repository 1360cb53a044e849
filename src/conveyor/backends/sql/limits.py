"""Pausing queues and rate-limit keys, blocking keys until a time, and reading their state,
written once for every SQL engine (see `conveyor.backends.sql`). Admission itself - which
jobs a claim may start - happens inside the claim's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from conveyor.backends import base
from conveyor.backends.sql import binding
from conveyor.backends.sql.driver import Driver, Statements

READS = {"limit_keys": {"key", "tat", "blocked_until", "paused", "waiting"},
         "paused_queues": {"queue"}, "next_unblock": {"at"}, "pause_queue": {"queue"},
         "resume_queue": {"queue"}, "pause_key": {"key"}, "resume_key": {"key"},
         "block_key": set(), "audit": set()}
"""Statements this module runs, and the columns of their rows it relies on (it counts the
rows of those that pause or resume; an empty set: it ignores the rows);
`tests/contract/test_conformance.py` holds every dialect to it."""


class Limits(Driver):
    """`Backend.block_keys`, `pause`, `limits` and `next_unblock`."""

    async def block_keys(self, keys: Sequence[str], until: datetime) -> None:
        async def work(tx: Statements) -> None:
            for key in keys:
                await tx.rows("block_key", {"key": key, "until": until})

        await self.transaction(work)

    async def pause(self, *, queue: str | None = None, key: str | None = None,
                    paused: bool, actor: str, now: datetime) -> bool:
        """Pause or resume one queue or key, audited (also when it was so already)."""
        action = "pause" if paused else "resume"
        statement = f"{action}_{'queue' if queue is not None else 'key'}"

        async def work(tx: Statements) -> bool:
            changed = bool(await tx.rows(statement, {"queue": queue, "key": key, "now": now,
                                                     "actor": actor}))
            await tx.rows("audit", {"now": now, "actor": actor, "action": action,
                                    "count": int(changed),
                                    "filter_json": binding.describe_target(queue=queue, key=key)})
            return changed

        changed = await self.transaction(work)
        if changed and not paused:
            self._notify()
        return changed

    async def limits(self) -> base.LimitsState:
        keys = [base.KeyInfo(row["key"], self.moment(row["tat"]),
                             self.moment(row["blocked_until"]), bool(row["paused"]),
                             row["waiting"]) for row in await self.statement("limit_keys")]
        queues = [row["queue"] for row in await self.statement("paused_queues")]
        return base.LimitsState(keys, queues)

    async def next_unblock(self, now: datetime) -> datetime | None:
        """When the next blocked key with waiting jobs frees up (None: no such key)."""
        at = (await self.statement("next_unblock", {"now": now}))[0]["at"]
        return None if at is None else self.moment(at)
