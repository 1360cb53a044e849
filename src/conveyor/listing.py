"""Keyset paging over jobs: pages that stay fast at any depth of a million-row table.

A page is "the next `limit` jobs after id X" in the listing's order (newest first is id
descending: ids grow with insertion), never an OFFSET. Each filter on one state, queue or job
name walks that column's index in id order, so a page costs about `limit` rows whatever its
depth. Filters no index serves (argument text or values, insertion time) are scanned in
windows of `SCAN_ROWS` jobs, for at most `SCAN_SECONDS` per page: when that budget runs out
first, the page comes back short (even empty) with a cursor that carries the scan on from
where it stopped.

Cursors are opaque to callers: "n<id>" reads on after `id` in the listing's order, "p<id>"
reads back before it.
"""

from __future__ import annotations

import dataclasses
import re
import time
from typing import Literal

from conveyor import errors, model, views
from conveyor.backends import base

Order = Literal["newest", "oldest"]
SCAN_ROWS = 20_000
"""Jobs per window of a scanned filter (argument text costs ~1.5 us a job on PostgreSQL)."""
SCAN_SECONDS = 0.05
"""A page of a scanned filter starts no new window after this long."""
MAX_LIMIT = 1000
_CURSOR = re.compile(r"^([np])(0|[1-9][0-9]{0,18})$")


@dataclasses.dataclass(frozen=True, slots=True)
class Cursor:
    forward: bool
    """True: the jobs after `at` in the listing's order; False: the jobs before it."""
    at: int

    def encode(self) -> str:
        return f"{'n' if self.forward else 'p'}{self.at}"


def decode(cursor: str | None) -> Cursor | None:
    if cursor is None or cursor == "":
        return None
    match = _CURSOR.match(cursor) if isinstance(cursor, str) else None
    if match is None:
        raise errors.ConveyorError(
            f"invalid page cursor {str(cursor)[:40]!r}; pass back a cursor a page returned")
    return Cursor(match[1] == "n", int(match[2]))


def check(order: str, limit: int) -> None:
    if order not in ("newest", "oldest"):
        raise errors.ConveyorError(f'order={order!r} is invalid; use "newest" or "oldest"')
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        raise errors.ConveyorError(f"limit={limit!r} is invalid; use 1 to {MAX_LIMIT}")


def scans(where: base.JobFilter) -> bool:
    """Whether no index serves the filter, so its pages scan under the budget."""
    return bool(where.text or where.args_contains or where.kwargs_contains
                or where.inserted_after or where.inserted_before)


async def page(backend: base.Backend, where: base.JobFilter, order: Order,
               cursor: str | None, limit: int) -> views.JobPage:
    """One page of the jobs `where` matches (its own ids and limit are replaced)."""
    check(order, limit)
    newest = order == "newest"
    at = decode(cursor)
    forward = at is None or at.forward
    descending = newest == forward  # the direction ids are read in
    low, high = _bounds(at, descending)
    if scans(where):
        rows, stop = await _scan(backend, where, low, high, limit + 1, descending)
    else:
        rows, stop = await _read(backend, where, low, high, limit + 1, descending), None
    more = len(rows) > limit
    jobs = rows[:limit] if forward else rows[:limit][::-1]
    ahead = _onward(jobs[-1].id if forward and jobs else None, more, stop, forward)
    behind = _onward(jobs[0].id if not forward and jobs else None, more, stop, forward)
    if forward:
        back = None if at is None else _cursor(False, jobs[0].id if jobs else at.at)
        return views.JobPage(jobs, ahead, back)
    assert at is not None
    step = 1 if newest else -1  # an empty page backwards: read on from `at` itself
    on = _cursor(True, jobs[-1].id if jobs else at.at + step)
    return views.JobPage(jobs, on, behind)


async def _read(backend: base.Backend, where: base.JobFilter, low: int | None,
                high: int | None, limit: int, descending: bool) -> list[model.Job]:
    return await backend.query(dataclasses.replace(
        where, after_id=low, before_id=high, limit=limit, newest_first=descending))


async def _scan(backend: base.Backend, where: base.JobFilter, low: int | None,
                high: int | None, want: int, descending: bool,
                ) -> tuple[list[model.Job], int | None]:
    """Up to `want` matches read window by window; and, when the time budget ended the scan
    before the end of the table, the last id it looked at."""
    rows: list[model.Job] = []
    deadline = time.monotonic() + SCAN_SECONDS
    while True:
        stop = await backend.scan_bound(low, high, descending, SCAN_ROWS)
        window = (low, high) if stop is None else \
            ((stop - 1, high) if descending else (low, stop + 1))
        rows += await _read(backend, where, *window, want - len(rows), descending)
        if len(rows) >= want or stop is None:
            return rows, None
        if time.monotonic() >= deadline:
            return rows, stop
        low, high = (low, stop) if descending else (stop, high)


def _bounds(at: Cursor | None, descending: bool) -> tuple[int | None, int | None]:
    """Exclusive (after_id, before_id) of the ids still to read."""
    if at is None:
        return None, None
    return (None, at.at) if descending else (at.at, None)


def _onward(edge: int | None, more: bool, stop: int | None, same_way: bool) -> str | None:
    """The cursor that reads on in the direction just read, if anything may be left."""
    if edge is not None and more:
        return _cursor(same_way, edge)
    if stop is not None:
        return _cursor(same_way, stop)
    return None


def _cursor(forward: bool, at: int) -> str:
    return Cursor(forward, at).encode()
