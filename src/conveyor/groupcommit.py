"""Group commit: concurrent enqueues on one event loop share one insert.

A web service's request handlers each enqueue a job; when they arrive together, one
transaction for all their rows costs little more than one for a single row. The first caller
lets the callers that are ready to run on its loop catch up (one turn of the loop, never a
timer) and writes; callers arriving while that write is in flight form the next group,
written as soon as it ends. Each caller gets its own rows' results, and only once the
transaction holding them committed.

Backends insert all or none, so a row the encoder or the database refuses fails its whole
group: the group is then written caller by caller, and only the caller whose row was refused
gets the error (`ROW_ERRORS`). Any other failure (an outage) reaches every caller of the
group. A caller cancelled before its group is written leaves its rows out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import NamedTuple

from conveyor import errors, model

ROW_ERRORS: tuple[type[Exception], ...] = (errors.Unserializable, errors.DependencyNotFound)
"""Failures that belong to one row (`Unstorable` is an `Unserializable`; a dependency on a
job that does not exist): the group's callers are then written apart so the others still
get their jobs."""

Write = Callable[[Sequence[model.NewJob], datetime], Awaitable[list[model.Inserted]]]


class Written(NamedTuple):
    """One caller's rows as stored: their results in order, and the `now` they were written
    at. Named tuples, as `_Call`: each caller makes one (a frozen dataclass cost 3x)."""

    inserted: list[model.Inserted]
    now: datetime


class _Call(NamedTuple):
    rows: Sequence[model.NewJob]
    done: asyncio.Future[Written]


class GroupCommit:
    """Shares inserts among the callers of one event loop. `write(rows, now)` is the
    backend's insert; `clock` gives `now` at each write."""

    def __init__(self, write: Write, clock: Callable[[], datetime]) -> None:
        self._write = write
        self._clock = clock
        self._joining: list[_Call] = []
        self._busy = False
        """A caller is collecting its group or a write is in flight: newcomers join."""
        self._task: asyncio.Task[None] | None = None

    async def insert(self, rows: Sequence[model.NewJob]) -> Written:
        """Insert `rows` (all or none), alone or with other callers' rows."""
        loop = asyncio.get_running_loop()
        if self._busy:
            call = _Call(rows, loop.create_future())
            self._joining.append(call)
            return await call.done
        self._busy = True
        try:
            await asyncio.sleep(0)  # callers ready to run now reach `insert` and join
        except BaseException:
            self._hand_over(loop)
            raise
        if not self._joining:  # alone: write here, as an unshared insert would
            try:
                return await self._write_alone(rows)
            finally:
                self._hand_over(loop)
        call = _Call(rows, loop.create_future())
        group, self._joining = [call, *self._joining], []
        self._start(loop, group)
        return await call.done

    async def _write_alone(self, rows: Sequence[model.NewJob]) -> Written:
        now = self._clock()
        return Written(await self._write(rows, now), now)

    def _hand_over(self, loop: asyncio.AbstractEventLoop) -> None:
        """The write in flight ended: the callers that joined meanwhile are written next."""
        if self._joining:
            group, self._joining = self._joining, []
            self._start(loop, group)
        else:
            self._busy, self._task = False, None

    def _start(self, loop: asyncio.AbstractEventLoop, group: list[_Call]) -> None:
        # A task of its own: a caller cancelled while waiting does not cancel the others' write.
        self._task = loop.create_task(self._write_group(loop, group),
                                      name="conveyor-group-commit")

    async def _write_group(self, loop: asyncio.AbstractEventLoop, group: list[_Call]) -> None:
        try:
            group = [call for call in group if not call.done.done()]  # cancelled meanwhile
            if group:
                await self._settle(group)
        except BaseException:  # cancelled: the loop is closing, and nobody waits forever
            group, self._joining = group + self._joining, []
            for call in group:
                call.done.cancel()
            raise
        finally:
            self._hand_over(loop)

    async def _settle(self, group: list[_Call]) -> None:
        rows = [row for call in group for row in call.rows]
        try:
            written = await self._write_alone(rows)
        except ROW_ERRORS as exc:
            if len(group) == 1:
                _fail(group[0], exc)
                return
            for call in group:  # apart: only the caller whose row was refused gets the error
                try:
                    _succeed(call, await self._write_alone(call.rows))
                except Exception as own:
                    _fail(call, own)
            return
        except Exception as exc:
            for call in group:
                _fail(call, exc)
            return
        start = 0
        for call in group:
            end = start + len(call.rows)
            _succeed(call, Written(written.inserted[start:end], written.now))
            start = end


def _succeed(call: _Call, written: Written) -> None:
    if not call.done.done():
        call.done.set_result(written)


def _fail(call: _Call, exc: Exception) -> None:
    if not call.done.done():
        call.done.set_exception(exc)
