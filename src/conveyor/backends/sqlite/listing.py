"""What operators read on SQLite: filtered keyset pages of jobs, counts, a job's links, the
audit trail, workers. A mixin of `SqliteBackend`, kept apart so each module has one job.

SQLite plans a statement once, before it sees the parameters, so the shared filter's
"this list, if given" tests hide every index from it. Where the filter names one state, queue
or job name, the listing adds a plain equality on that column (`drive_*` in queries.sql),
which lets the planner walk the column's index in id order.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson

from conveyor import model, views
from conveyor.backends import base, sqlfile
from conveyor.backends.sqlite import rows as convert
from conveyor.backends.sqlite.part import BackendPart

_QUERIES = sqlfile.load("conveyor.backends.sqlite")


def statement(name: str, where: base.JobFilter) -> str:
    return sqlfile.compose(_QUERIES, name, base.drives(where))


class Listing(BackendPart):
    """`Backend.query`, `scan_bound`, `count`, `links`, `audit_log`, `workers`,
    `waiting_by_name`, and a worker's `waiting_queues` and `running_jobs`, for
    `SqliteBackend`."""

    async def query(self, where: base.JobFilter) -> list[model.Job]:
        params = {**convert.filter_params(where), **base.page_params(where)}
        sql = statement("query_newest" if where.newest_first else "query", where)
        rows = await self._run(lambda conn: conn.execute(sql, params).fetchall(), write=False)
        return [convert.job_from_row(row) for row in rows]

    async def scan_bound(self, after_id: int | None, before_id: int | None, newest: bool,
                         rows: int) -> int | None:
        params = {"after_id": after_id or 0,
                  "before_id": base.MAX_ID if before_id is None else before_id, "rows": rows}
        name = "scan_bound_newest" if newest else "scan_bound"
        low, high, count = await self._run(
            lambda conn: conn.execute(_QUERIES[name], params).fetchone(), write=False)
        if count < rows:
            return None
        return int(low if newest else high)

    async def count(self, where: base.JobFilter, cap: int | None = None) -> int:
        params = {**convert.filter_params(where), "cap": -1 if cap is None else cap}
        sql = statement("count", where)
        return int(await self._run(lambda conn: conn.execute(sql, params).fetchone()[0],
                                   write=False))

    async def links(self, job_id: int, limit: int) -> views.Links:
        rows = await self._run(lambda conn: conn.execute(
            _QUERIES["links"], {"id": job_id, "limit": limit}).fetchall(), write=False)
        return views.Links([row[1] for row in rows if row[0] == "dependency"],
                           [row[1] for row in rows if row[0] == "dependant"])

    async def audit_log(self, *, before_id: int | None, limit: int, job_id: int | None,
                        actor: str | None) -> list[views.AuditEntry]:
        params = {"before_id": base.MAX_ID if before_id is None else before_id, "limit": limit,
                  "job_id": job_id, "actor": actor}
        name = "audit_log" if job_id is None else "audit_log_of_job"
        rows = await self._run(lambda conn: conn.execute(_QUERIES[name], params).fetchall(),
                               write=False)
        return [views.AuditEntry(row["id"], convert.from_micros(row["at"]) or convert.EPOCH,
                                 row["actor"], row["action"], _filter(row["filter"]),
                                 row["count"]) for row in rows]


    async def workers(self, alive_since: datetime) -> list[views.WorkerInfo]:
        rows = await self._run(lambda conn: conn.execute(_QUERIES["workers"]).fetchall(),
                               write=False)
        since = convert.to_micros(alive_since)
        return [views.WorkerInfo(
            row["id"], row["host"], row["pid"], _queues(row["queues"]), row["concurrency"],
            convert.from_micros(row["started_at"]) or convert.EPOCH,
            convert.from_micros(row["heartbeat_at"]) or convert.EPOCH, row["running"],
            row["heartbeat_at"] >= since) for row in rows]

    async def prune_workers(self, silent_since: datetime) -> int:
        params = {"before": convert.to_micros(silent_since)}
        return await self._run(lambda conn: conn.execute(_QUERIES["prune_workers"], params)
                               .rowcount, write=True)

    async def waiting_by_name(self) -> dict[str, dict[model.JobState, int]]:
        rows = await self._run(lambda conn: conn.execute(_QUERIES["waiting_by_name"])
                               .fetchall(), write=False)
        found: dict[str, dict[model.JobState, int]] = {}
        for name, state, count in rows:
            found.setdefault(name, {})[model.JobState(state)] = count
        return found

    # -- what a worker looks up -----------------------------------------------------------

    async def waiting_queues(self, names: Sequence[str], served: Sequence[str]) -> list[str]:
        params = {"names": orjson.dumps(list(names)).decode(),
                  "served": orjson.dumps(list(served)).decode()}
        rows = await self._run(lambda conn: conn.execute(_QUERIES["waiting_queues"], params)
                               .fetchall(), write=False)
        return [row[0] for row in rows]

    async def running_jobs(self, worker: str) -> list[model.Job]:
        rows = await self._run(lambda conn: conn.execute(_QUERIES["running_jobs"],
                                                         {"worker": worker}).fetchall(),
                               write=False)
        return [convert.job_from_row(row) for row in rows]


def _queues(text: str) -> list[str]:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return []
    return [str(q) for q in value] if isinstance(value, list) else []


def record_audit(conn: sqlite3.Connection, audit: dict[str, Any], ids: list[int]) -> None:
    """Write the audit row of an action and link it to the jobs it changed."""
    audit_id = conn.execute(_QUERIES["audit_entry"], audit).fetchone()[0]
    if ids:
        conn.execute(_QUERIES["audit_jobs"], {"audit_id": audit_id,
                                              "ids": orjson.dumps(ids).decode()})


def _filter(text: str) -> dict[str, Any]:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return {"unreadable": text}
    return value if isinstance(value, dict) else {"value": value}
