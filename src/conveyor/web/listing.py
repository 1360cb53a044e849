"""One page of the job list, by keyset (never OFFSET): the only place the jobs page asks the
operator API for rows."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from conveyor import model
from conveyor.web.filters import JobQuery

if TYPE_CHECKING:
    from conveyor.app import Conveyor


@dataclasses.dataclass(frozen=True, slots=True)
class Page:
    jobs: list[model.Job]
    next_cursor: str | None
    prev_cursor: str | None


async def fetch(app: Conveyor, query: JobQuery) -> Page:
    """The page of jobs `query` asks for, and the cursors of its neighbours."""
    after = int(query.cursor) if query.cursor and query.cursor.isdigit() else None
    where = dataclasses.replace(query.parsed, after_id=after, limit=query.limit + 1)
    jobs = await app.ajobs(where)
    more = len(jobs) > query.limit
    jobs = jobs[:query.limit]
    return Page(jobs, str(jobs[-1].id) if more and jobs else None, None)


async def iterate(app: Conveyor, query: JobQuery, chunk: int = 1000) -> AsyncIterator[model.Job]:
    """Every job the query matches, read a keyset chunk at a time (for streamed exports)."""
    after: int | None = None
    while True:
        jobs = await app.ajobs(dataclasses.replace(query.parsed, after_id=after, limit=chunk))
        for job in jobs:
            yield job
        if len(jobs) < chunk:
            return
        after = jobs[-1].id
