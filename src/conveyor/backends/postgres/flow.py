"""Flow control on PostgreSQL: blocking and pausing rate keys and queues, and reading their
state, plus audit rows for operator actions that are not job changes. A mixin of
`PostgresBackend`, kept apart so each module has one job (admission itself is `admission.py`,
inside the claim transaction)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from conveyor.backends import base, sqlfile
from conveyor.backends.postgres import listing
from conveyor.backends.postgres.statements import BackendPart, Conn, dict_rows

_QUERIES = sqlfile.load("conveyor.backends.postgres")


class FlowControl(BackendPart):
    """`Backend.block_keys` ... `next_unblock` for `PostgresBackend`."""

    async def block_keys(self, keys: Sequence[str], until: datetime) -> None:
        async def work(conn: Conn) -> None:
            async with conn.cursor() as cur:
                await cur.executemany(_QUERIES["block_key"],
                                      [{"key": key, "until": until} for key in keys])

        await self._run(work, atomic=True)

    async def pause(self, *, queue: str | None = None, key: str | None = None,
                    paused: bool, actor: str, now: datetime) -> bool:
        name = f"{'pause' if paused else 'resume'}_{'queue' if queue is not None else 'key'}"
        params: dict[str, Any] = {"queue": queue, "key": key, "now": now, "actor": actor}

        async def work(conn: Conn) -> bool:
            changed = (await conn.execute(_QUERIES[name], params)).rowcount > 0
            await conn.execute(_QUERIES["audit"], {
                "now": now, "actor": actor, "action": name.split("_")[0], "count": int(changed),
                "filter_json": base.describe_target(queue=queue, key=key)})
            return changed

        changed = await self._run(work, atomic=True)
        if changed and not paused:
            self._notify()
        return changed

    async def audit(self, actor: str, action: str, target: Mapping[str, Any], count: int,
                    now: datetime, job_ids: Sequence[int] = ()) -> None:
        params = {"now": now, "actor": actor, "action": action,
                  "filter_json": base.describe_target(**target), "count": count}
        await self._run(lambda conn: listing.record_audit(conn, params, list(job_ids)),
                        atomic=True)

    async def flow(self) -> base.FlowState:
        rows = await self._run(lambda conn: dict_rows(conn, "flow_keys", {}))
        keys = [base.KeyInfo(row["key"], row["tat"], row["blocked_until"], row["paused"],
                             row["waiting"]) for row in rows]
        return base.FlowState(keys, await self._column("paused_queues", {}))

    async def next_unblock(self, now: datetime) -> datetime | None:
        found: datetime | None = (await self._column("next_unblock", {"now": now}))[0]
        return found
