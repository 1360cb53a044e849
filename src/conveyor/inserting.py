"""How an enqueue's rows become stored jobs, for `Conveyor`: on this loop's backend, in a
shared transaction (group commit), from plain code without crossing a loop, or on the
caller's own connection. A mixin rather than a helper object so that each enqueue is still
one method call on the app, as before; `Conveyor` keeps the storage it uses (`storage`)."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from conveyor import enqueued, groupcommit, model, stored, tracing
from conveyor.backends import base, transactional

if TYPE_CHECKING:
    from conveyor.blocking import BlockingRunner
    from conveyor.clock import Clock
    from conveyor.hooks import Hooks
    from conveyor.metrics import CallTally


class Inserting:
    """`Conveyor`'s inserts; the attributes below are the app's (set in its `__init__`)."""

    url: str
    clock: Clock
    hooks: Hooks
    blocking: BlockingRunner
    storage_calls: CallTally
    _migrated: bool
    _backends: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, base.Backend]
    _groups: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, groupcommit.GroupCommit]

    if TYPE_CHECKING:

        async def storage(self, *, migrate: bool = True) -> base.Backend: ...

    async def insert(self, rows: Sequence[model.NewJob], *, shared: bool = False,
                     ) -> enqueued.Enqueued:
        """Insert already-validated rows atomically and return them as jobs. With `shared`,
        the rows may share one transaction with other callers' on this event loop (group
        commit, see `groupcommit`); they are still all or none, and stored on return."""
        if not rows:
            return enqueued.Enqueued([], [], self.clock.now())
        if not self.hooks.enqueue:
            return enqueued.Enqueued(rows, *await self._insert(rows, shared))
        with self.hooks.enqueuing(rows) as call:
            jobs = enqueued.Enqueued(call.rows, *await self._insert(call.rows, shared))
            call.ids = jobs.ids
        return jobs

    async def insert_one(self, row: model.NewJob, *, shared: bool = False) -> model.Job:
        """`insert([row])[0]`, without the sequence around one job (a single enqueue)."""
        if self.hooks.enqueue:
            return (await self.insert([row], shared=shared))[0]
        if shared and row.batch_id is None and not row.depends_on_rows:
            inserted, now = await self._group_commit().insert((row,))
            if not inserted[0].duplicate:  # the common case, without `_stored`'s sequences
                return enqueued.job_of(row, inserted[0], now)
            return stored.only(row, *await self._stored(inserted, now))
        return stored.only(row, *await self._insert([row], shared))

    async def _insert(self, rows: Sequence[model.NewJob], shared: bool) -> stored.Stored:
        if shared and all(row.batch_id is None and not row.depends_on_rows for row in rows):
            inserted, now = await self._group_commit().insert(rows)
        else:
            now = self.clock.now()
            inserted = await (await self.storage()).insert(rows, now)
        return await self._stored(inserted, now)

    async def _stored(self, inserted: list[model.Inserted], now: datetime) -> stored.Stored:
        """What an insert stored, with the stored job each duplicate stands for."""
        for done in inserted:
            if done.duplicate:  # the stored job each duplicate stands for
                backend = await self.storage()
                return inserted, now, stored.duplicates([
                    done.existing or (await backend.get(done.id) if done.duplicate else None)
                    for done in inserted])
        return inserted, now, None

    def insert_blocking(self, rows: Sequence[model.NewJob]) -> enqueued.Enqueued:
        """`insert` from plain code. A backend with blocking calls (SQLite; PostgreSQL on a
        blocking connection of its own) is called directly once it is open on this thread's
        loop: no event loop is crossed."""
        backend = self._direct()
        if backend is None or not rows:
            return self.blocking.run(lambda: self.insert(rows))
        if not self.hooks.enqueue:
            return enqueued.Enqueued(rows, *stored.insert_blocking(backend, rows, self.clock.now()))
        with self.hooks.enqueuing(rows) as call:
            jobs = enqueued.Enqueued(
                call.rows, *stored.insert_blocking(backend, call.rows, self.clock.now()))
            call.ids = jobs.ids
        return jobs

    def insert_one_blocking(self, row: model.NewJob, now: datetime | None = None) -> model.Job:
        """`insert_blocking([row])[0]`, without the sequence around one job; `now` is when
        it is inserted (the time its row was built at, else the clock's)."""
        backend = self._direct()
        if backend is None or self.hooks.enqueue:
            return self.insert_blocking([row])[0]
        return stored.only(row, *stored.insert_blocking(backend, [row], now or self.clock.now()))

    def _direct(self) -> Any:
        """This thread's backend for a blocking call without its loop, or None."""
        return stored.direct_backend(self.blocking, self._migrated, self._backends)

    def _group_commit(self) -> groupcommit.GroupCommit:
        loop = asyncio.get_running_loop()
        group = self._groups.get(loop)
        if group is None:
            group = self._groups[loop] = groupcommit.GroupCommit(
                self._write, lambda: self.clock.now())
        return group

    async def _write(self, rows: Sequence[model.NewJob], now: datetime) -> list[model.Inserted]:
        return await (await self.storage()).insert(rows, now)

    def insert_on(self, connection: Any, rows: Sequence[model.NewJob]) -> enqueued.Enqueued:
        """Insert on the caller's connection, in its transaction (transactional enqueue).
        Until this app has seen its database migrated, the tables are checked first (reads
        only): `NotMigrated` leaves the caller's transaction as it was."""
        with self.hooks.enqueuing(rows) as call:
            now = self.clock.now()
            with tracing.measured("insert_on", self.storage_calls, self.hooks):
                inserted = transactional.insert_on(connection, self.url, call.rows, now,
                                                   check_schema=not self._migrated)
            self._migrated = True
            call.ids = [done.id for done in inserted]
        return enqueued.Enqueued(call.rows, inserted, now)

    async def ainsert_on(self, connection: Any, rows: Sequence[model.NewJob],
                         ) -> enqueued.Enqueued:
        with self.hooks.enqueuing(rows) as call:
            now = self.clock.now()
            with tracing.measured("insert_on", self.storage_calls, self.hooks):
                inserted = await transactional.ainsert_on(connection, self.url, call.rows, now,
                                                          check_schema=not self._migrated)
            self._migrated = True
            call.ids = [done.id for done in inserted]
        return enqueued.Enqueued(call.rows, inserted, now)
