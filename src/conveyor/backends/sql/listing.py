"""What operators and workers read, written once for every SQL engine (see
`conveyor.backends.sql`): one job, filtered keyset pages of jobs, counts, a job's links,
workers, and what a worker looks up (queues with waiting jobs, its own running jobs).

Listings run planned for their parameters (`planned`): PostgreSQL then folds away the shared
filter's unused "this list, if given" tests and picks the index asked for. SQLite plans a
statement before it sees its parameters, so where the filter names one state, queue or job
name the listing adds a plain equality on that column (the `drive_*` fragments of
queries.sql, `binding.drives`), which lets either planner walk that column's index in id order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from conveyor import model, views
from conveyor.backends import base
from conveyor.backends.sql import binding
from conveyor.backends.sql.driver import Driver

JOB = {"id", "name", "queue", "state", "args", "kwargs", "run_at", "batch_id"}
"""Some of the columns `job` reads of a job's row (every statement returning them is
`SELECT *` from the jobs table)."""
READS = {"get": JOB, "query": JOB, "query_newest": JOB, "running_jobs": JOB,
         "scan_bound": {"low", "high", "count"}, "scan_bound_newest": {"low", "high", "count"},
         "count": {"count"}, "links": {"kind", "id"}, "prune_workers": {"id"},
         "workers": {"id", "host", "pid", "queues", "concurrency", "started_at",
                     "heartbeat_at", "running"},
         "waiting_by_name": {"name", "state", "count"}, "waiting_queues": {"queue"},
         "counts": {"queue", "state", "count"}, "oldest_available": {"queue", "run_at"}}
"""Statements this module runs, and the columns of their rows it relies on;
`tests/contract/test_conformance.py` holds every dialect to it."""


class Listing(Driver):
    """`Backend.get`, `query`, `scan_bound`, `count`, `counts`, `links`, `workers`,
    `prune_workers`, `waiting_by_name`, `oldest_available`, and a worker's `waiting_queues`
    and `running_jobs`."""

    async def get(self, job_id: int) -> model.Job | None:
        rows = await self.statement("get", {"id": job_id})
        return self.job(rows[0]) if rows else None

    async def query(self, where: base.JobFilter) -> list[model.Job]:
        rows = await self.statement(
            "query_newest" if where.newest_first else "query",
            {**self.filter_params(where), **binding.page_params(where)},
            planned=True, fragments=binding.drives(where))
        return [self.job(row) for row in rows]

    async def scan_bound(self, after_id: int | None, before_id: int | None, newest: bool,
                         rows: int) -> int | None:
        found = (await self.statement(
            "scan_bound_newest" if newest else "scan_bound",
            {"after_id": after_id or 0, "rows": rows,
             "before_id": base.MAX_ID if before_id is None else before_id}, planned=True))[0]
        if found["count"] < rows:
            return None
        return int(found["low"] if newest else found["high"])

    async def count(self, where: base.JobFilter, cap: int | None = None) -> int:
        rows = await self.statement("count", {**self.filter_params(where), "cap": cap},
                                    planned=True, fragments=binding.drives(where))
        return int(rows[0]["count"])

    async def counts(self) -> Mapping[tuple[str, model.JobState], int]:
        return {(row["queue"], model.JobState(row["state"])): row["count"]
                for row in await self.statement("counts")}

    async def links(self, job_id: int, limit: int) -> views.Links:
        rows = await self.statement("links", {"id": job_id, "limit": limit}, planned=True)
        return views.Links([row["id"] for row in rows if row["kind"] == "dependency"],
                           [row["id"] for row in rows if row["kind"] == "dependant"])

    async def workers(self, alive_since: datetime) -> list[views.WorkerInfo]:
        found = []
        for row in await self.statement("workers", planned=True):
            queues = self.document(row["queues"])
            heartbeat_at = self.moment(row["heartbeat_at"])
            found.append(views.WorkerInfo(
                row["id"], row["host"], row["pid"],
                [str(q) for q in queues] if isinstance(queues, list) else [],
                row["concurrency"], self.moment(row["started_at"]), heartbeat_at,
                row["running"], heartbeat_at >= alive_since))
        return found

    async def prune_workers(self, silent_since: datetime) -> int:
        return len(await self.statement("prune_workers", {"before": silent_since}))

    async def waiting_by_name(self) -> dict[str, dict[model.JobState, int]]:
        found: dict[str, dict[model.JobState, int]] = {}
        for row in await self.statement("waiting_by_name", planned=True):
            found.setdefault(row["name"], {})[model.JobState(row["state"])] = row["count"]
        return found

    async def oldest_available(self) -> Mapping[str, datetime]:
        return {row["queue"]: self.moment(row["run_at"])
                for row in await self.statement("oldest_available")}

    # -- what a worker looks up -----------------------------------------------------------

    async def waiting_queues(self, names: Sequence[str], served: Sequence[str]) -> list[str]:
        rows = await self.statement("waiting_queues", {"names": list(names),
                                                       "served": list(served)})
        return [row["queue"] for row in rows]

    async def running_jobs(self, worker: str) -> list[model.Job]:
        return [self.job(row)
                for row in await self.statement("running_jobs", {"worker": worker})]

