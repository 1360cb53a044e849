"""Write attempt outcomes in batches: one statement per outcome kind per flush.

While one flush is in flight, finished jobs pile up and go out together in the next one, so
batches grow with throughput and a quiet worker still settles each job at once.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable

from conveyor import model, outcome
from conveyor.app import Conveyor
from conveyor.backends import base
from conveyor.worker import executor

log = logging.getLogger("conveyor.worker")


class Settler:
    """Buffers `Ran` values and flushes them with `Backend.finish`."""

    def __init__(self, app: Conveyor, backend: base.Backend, max_batch: int = 1000,
                 on_settled: Callable[[int], None] | None = None) -> None:
        self.app = app
        self.backend = backend
        self.max_batch = max_batch
        self._on_settled = on_settled
        self._buffer: list[executor.Ran] = []
        self._ready = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self.lost = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="conveyor-settler")

    def add(self, ran: executor.Ran) -> None:
        self._buffer.append(ran)
        self._idle.clear()
        self._ready.set()

    @property
    def idle(self) -> bool:
        return self._idle.is_set()

    async def flush(self) -> None:
        """Wait until everything added so far is written."""
        if self._task is None or self._task.done():
            await self._write_all()
            return
        await self._idle.wait()

    async def stop(self) -> None:
        await self.flush()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _loop(self) -> None:
        while True:
            await self._ready.wait()
            await self._write_all()

    async def _write_all(self) -> None:
        while self._buffer:
            batch, self._buffer = self._buffer[: self.max_batch], self._buffer[self.max_batch:]
            await self._write(batch)
        self._ready.clear()
        self._idle.set()

    async def _write(self, batch: list[executor.Ran]) -> None:
        outcomes = [ran.outcome for ran in batch]
        delay = 0.05
        while True:
            try:
                await self._block_keys(batch)
                settled = await self.backend.finish(
                    outcomes, self.app.clock.now(), self.app.settings.max_errors,
                    batched=any(ran.job.batch_id is not None for ran in batch))
                break
            except Exception as exc:  # storage down: keep the outcomes, try again
                log.warning("could not settle %d jobs (%s); retrying in %.2fs",
                            len(outcomes), exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        for job_id in settled.lost:
            log.warning("lease lost: job %s was rescued or changed while it ran; "
                        "its outcome was not written", job_id)
        self.lost += len(settled.lost)
        if self._on_settled is not None:
            self._on_settled(len(batch))
        for ran in batch:
            if ran.outcome.job_id in settled.written \
                    and ran.outcome.target == model.JobState.DISCARDED:
                await self._discarded(ran)

    async def _block_keys(self, batch: list[executor.Ran]) -> None:
        """Keys an API throttled are blocked before their jobs are re-queued."""
        for ran in batch:
            if ran.block_keys and isinstance(ran.outcome, outcome.Snoozed):
                await self.backend.block_keys(ran.block_keys, ran.outcome.run_at)

    async def _discarded(self, ran: executor.Ran) -> None:
        """Run the job type's `on_discard` hook; its own failure is logged, not raised."""
        job_type = self.app.registry.find(ran.job.name)
        if job_type is None or job_type.on_discard is None:
            return
        hook = job_type.on_discard
        try:
            if inspect.iscoroutinefunction(hook):
                await hook(ran.job, ran.error)
            else:
                await asyncio.to_thread(hook, ran.job, ran.error)
        except Exception:
            log.exception("on_discard hook of job %s (%s) failed", ran.job.id, ran.job.name)
