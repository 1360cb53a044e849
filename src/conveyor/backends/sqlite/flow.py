"""Flow control on SQLite: blocking and pausing rate keys and queues, and reading their state,
plus audit rows for operator actions that are not job changes. A mixin of `SqliteBackend`,
kept apart so each module has one job (admission itself happens inside the claim
transaction)."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from conveyor.backends import base, sqlfile
from conveyor.backends.sqlite import listing
from conveyor.backends.sqlite import rows as convert
from conveyor.backends.sqlite.part import BackendPart

_QUERIES = sqlfile.load("conveyor.backends.sqlite")


class FlowControl(BackendPart):
    """`Backend.block_keys` ... `next_unblock` for `SqliteBackend`."""

    async def block_keys(self, keys: Sequence[str], until: datetime) -> None:
        params = [{"key": key, "until": convert.to_micros(until)} for key in keys]
        await self._run(lambda conn: conn.executemany(_QUERIES["block_key"], params),
                        write=True)

    async def pause(self, *, queue: str | None = None, key: str | None = None,
                    paused: bool, actor: str, now: datetime) -> bool:
        name = f"{'pause' if paused else 'resume'}_{'queue' if queue is not None else 'key'}"
        params: dict[str, Any] = {"queue": queue, "key": key, "now": convert.to_micros(now),
                                  "actor": actor}
        audit = {"now": params["now"], "actor": actor, "action": name.split("_")[0],
                 "filter_json": base.describe_target(queue=queue, key=key)}

        def work(conn: sqlite3.Connection) -> bool:
            changed = conn.execute(_QUERIES[name], params).rowcount > 0
            conn.execute(_QUERIES["audit"], {**audit, "count": int(changed)})
            return changed

        changed = await self._run(work, write=True)
        if changed and not paused:
            self._notify()
        return changed

    async def audit(self, actor: str, action: str, target: Mapping[str, Any], count: int,
                    now: datetime, job_ids: Sequence[int] = ()) -> None:
        params = {"now": convert.to_micros(now), "actor": actor, "action": action,
                  "filter_json": base.describe_target(**target), "count": count}
        await self._run(lambda conn: listing.record_audit(conn, params, list(job_ids)),
                        write=True)

    async def flow(self) -> base.FlowState:
        def work(conn: sqlite3.Connection) -> base.FlowState:
            keys = [base.KeyInfo(row["key"], convert.from_micros(row["tat"]) or convert.EPOCH,
                                 convert.from_micros(row["blocked_until"]) or convert.EPOCH,
                                 bool(row["paused"]), row["waiting"])
                    for row in conn.execute(_QUERIES["flow_keys"])]
            queues = [row[0] for row in conn.execute(_QUERIES["paused_queues"])]
            return base.FlowState(keys, queues)

        return await self._run(work, write=False)

    async def next_unblock(self, now: datetime) -> datetime | None:
        row = await self._run(lambda conn: conn.execute(
            _QUERIES["next_unblock"], {"now": convert.to_micros(now)}).fetchone(), write=False)
        return convert.from_micros(row[0]) if row and row[0] is not None else None
