"""Write attempt outcomes in batches: one statement per outcome kind per flush.

While one flush is in flight, finished jobs pile up and go out together in the next one, so
batches grow with throughput and a quiet worker still settles each job at once. Settled
outcomes are also tallied per minute (`metrics.Tally`) and the tally is upserted at most every
`Settings.metrics_interval` seconds and when the settler stops: no metrics write per job.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Callable
from datetime import datetime

from conveyor import metrics, model, outcome
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
        self.tally = metrics.Tally()
        self._ended: dict[int, datetime] = {}
        self._tallied_at = 0.0

    def start(self) -> None:
        self._tallied_at = asyncio.get_running_loop().time()
        self._task = asyncio.create_task(self._loop(), name="conveyor-settler")

    def add(self, ran: executor.Ran) -> None:
        self._ended[ran.outcome.job_id] = self.app.clock.now()
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
        await self.write_tally()

    async def _loop(self) -> None:
        interval = self.app.settings.metrics_interval
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._ready.wait(), interval)
            if self._ready.is_set():
                await self._write_all()
            if asyncio.get_running_loop().time() - self._tallied_at >= interval:
                await self.write_tally()

    async def write_tally(self) -> None:
        """Upsert the outcomes tallied so far; on failure keep them for the next try."""
        self._tallied_at = asyncio.get_running_loop().time()
        rows = self.tally.drain()
        if not rows:
            return
        try:
            await self.backend.record_metrics(rows)
        except Exception as exc:  # storage down: metrics wait, jobs do not
            log.warning("could not write metrics of %d minutes (%s); keeping them", len(rows),
                        exc)
            self.tally.merge(rows)

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
        self._count(batch, settled.written)
        for ran in batch:
            if ran.outcome.job_id in settled.written \
                    and ran.outcome.target == model.JobState.DISCARDED:
                await self._discarded(ran)

    def _count(self, batch: list[executor.Ran], written: frozenset[int]) -> None:
        """Tally the outcomes that were written, with their run time (claim to outcome)."""
        for ran in batch:
            ended = self._ended.pop(ran.outcome.job_id, None) or self.app.clock.now()
            kind = metrics.kind_of(ran.outcome)
            if kind is None or ran.outcome.job_id not in written:
                continue
            began = ran.job.attempted_at or ended
            self.tally.add(ended, ran.job.queue, ran.job.name, kind,
                           max(0.0, (ended - began).total_seconds()))

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
