"""What operators read on PostgreSQL: filtered keyset pages of jobs, counts, a job's links,
the audit trail, workers. A mixin of `PostgresBackend`, kept apart so each module has one job.

Listings run as unprepared statements, so PostgreSQL plans each with its parameters: the
shared filter's unused "this list, if given" tests fold away and the planner picks the index
of the state, queue or job name asked for (a prepared, generic plan could not).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from psycopg.rows import DictRow, dict_row

from conveyor import model, views
from conveyor.backends import base, sqlfile
from conveyor.backends.postgres import rows as convert
from conveyor.backends.postgres.statements import BackendPart, Conn, dict_rows

_QUERIES = sqlfile.load("conveyor.backends.postgres")


async def planned(conn: Conn, name: str, params: Mapping[str, Any],
                  where: base.JobFilter | None = None) -> list[DictRow]:
    """Run a named statement planned for these parameters (never a cached generic plan),
    with the `drive_*` equalities `where` calls for."""
    sql = _QUERIES[name] if where is None else \
        sqlfile.compose(_QUERIES, name, base.drives(where))
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(sql, params, prepare=False)
        return await cur.fetchall()


class Listing(BackendPart):
    """`Backend.query`, `scan_bound`, `count`, `links`, `audit_log`, `workers`,
    `waiting_by_name`, and a worker's `waiting_queues` and `running_jobs`, for
    `PostgresBackend`."""

    async def query(self, where: base.JobFilter) -> list[model.Job]:
        params = {**convert.filter_params(where), **base.page_params(where)}
        rows = await self._run(lambda conn: planned(
            conn, "query_newest" if where.newest_first else "query", params, where))
        return [convert.job_from_row(row) for row in rows]

    async def scan_bound(self, after_id: int | None, before_id: int | None, newest: bool,
                         rows: int) -> int | None:
        params = {"after_id": after_id or 0,
                  "before_id": base.MAX_ID if before_id is None else before_id, "rows": rows}
        name = "scan_bound_newest" if newest else "scan_bound"
        found = (await self._run(lambda conn: planned(conn, name, params)))[0]
        if found["count"] < rows:
            return None
        return int(found["min"] if newest else found["max"])

    async def count(self, where: base.JobFilter, cap: int | None = None) -> int:
        params = {**convert.filter_params(where), "cap": cap}
        rows = await self._run(lambda conn: planned(conn, "count", params, where))
        return int(rows[0]["count"])

    async def links(self, job_id: int, limit: int) -> views.Links:
        rows = await self._run(lambda conn: planned(conn, "links",
                                                    {"id": job_id, "limit": limit}))
        return views.Links([row["id"] for row in rows if row["kind"] == "dependency"],
                           [row["id"] for row in rows if row["kind"] == "dependant"])

    async def audit_log(self, *, before_id: int | None, limit: int, job_id: int | None,
                        actor: str | None) -> list[views.AuditEntry]:
        params = {"before_id": base.MAX_ID if before_id is None else before_id, "limit": limit,
                  "job_id": job_id, "actor": actor}
        name = "audit_log" if job_id is None else "audit_log_of_job"
        rows = await self._run(lambda conn: planned(conn, name, params))
        return [views.AuditEntry(row["id"], row["at"], row["actor"], row["action"],
                                 row["filter"] if isinstance(row["filter"], dict)
                                 else {"value": row["filter"]}, row["count"])
                for row in rows]


    async def workers(self, alive_since: datetime) -> list[views.WorkerInfo]:
        rows = await self._run(lambda conn: planned(conn, "workers", {}))
        return [views.WorkerInfo(
            row["id"], row["host"], row["pid"],
            [str(q) for q in row["queues"]] if isinstance(row["queues"], list) else [],
            row["concurrency"], row["started_at"], row["heartbeat_at"], row["running"],
            row["heartbeat_at"] >= alive_since) for row in rows]

    async def prune_workers(self, silent_since: datetime) -> int:
        return await self._rowcount("prune_workers", {"before": silent_since})

    async def waiting_by_name(self) -> dict[str, dict[model.JobState, int]]:
        rows = await self._run(lambda conn: planned(conn, "waiting_by_name", {}))
        found: dict[str, dict[model.JobState, int]] = {}
        for row in rows:
            found.setdefault(row["name"], {})[model.JobState(row["state"])] = row["count"]
        return found

    # -- what a worker looks up -----------------------------------------------------------

    async def waiting_queues(self, names: Sequence[str], served: Sequence[str]) -> list[str]:
        return await self._column("waiting_queues", {"names": list(names),
                                                     "served": list(served)})

    async def running_jobs(self, worker: str) -> list[model.Job]:
        rows = await self._run(lambda conn: dict_rows(conn, "running_jobs", {"worker": worker}))
        return [convert.job_from_row(row) for row in rows]


async def record_audit(conn: Conn, audit: Mapping[str, Any], ids: list[int]) -> None:
    """Write the audit row of an action and link it to the jobs it changed."""
    async with conn.cursor() as cur:
        await cur.execute(_QUERIES["audit_entry"], audit)
        row = await cur.fetchone()
        assert row is not None
        if ids:
            await cur.execute(_QUERIES["audit_jobs"], {"audit_id": row[0], "ids": ids})
