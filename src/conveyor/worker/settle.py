"""Write attempt outcomes in batches: one statement per outcome kind per flush.

While one flush is in flight, finished jobs pile up and go out together in the next one, so
batches grow with throughput and a quiet worker still settles each job at once. An outage is
waited out; an outcome the database refuses (a data error) is settled alone and replaced by a
plain error, so it never holds up the rest of its batch. Settled outcomes are also tallied
per minute (`metrics.Tally`) and the tally is upserted at most every
`Settings.metrics_interval` seconds and when the settler stops: no metrics write per job.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import logging
from collections.abc import Callable, Iterable
from datetime import datetime

from conveyor import errors, metrics, model, outcome
from conveyor.app import Conveyor
from conveyor.backends import base
from conveyor.worker import executor, failure

log = logging.getLogger("conveyor.worker")
_OUTAGES = (errors.StorageUnavailable, OSError)
"""Errors that say storage is down or busy: settling waits and tries again, for as long as
it takes. `Unstorable` says the database refused what it was given: the batch is split at
once. Any other error is tried again a few times, then taken as a refusal too."""
_UNEXPLAINED_TRIES = 3


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
        self._writing: list[executor.Ran] = []
        self.lost = 0
        self.tally = metrics.Tally()
        self._ended: dict[int, datetime] = {}
        self._began: dict[int, datetime] = {}
        """When claimed jobs began to run (a job may wait for a free slot after its claim)."""
        self._tallied_at = 0.0
        self.abandoned: set[int] = set()
        """Jobs whose outcome, even replaced, could not be stored (left to the rescue)."""

    def start(self) -> None:
        self._tallied_at = asyncio.get_running_loop().time()
        self._task = asyncio.create_task(self._loop(), name="conveyor-settler")

    def began(self, job_ids: Iterable[int], at: datetime) -> None:
        """Claimed jobs began to run: their run time counts from here, not from their claim
        (they may have waited for a free slot in the worker's buffer)."""
        self._began.update(dict.fromkeys(job_ids, at))

    def add(self, ran: executor.Ran) -> None:
        self._ended[ran.outcome.job_id] = self.app.clock.now()
        self._buffer.append(ran)
        if len(self._buffer) == 1:  # else an earlier add did, since the buffer last drained
            self._idle.clear()
            self._ready.set()

    @property
    def idle(self) -> bool:
        return self._idle.is_set()

    def waiting(self) -> list[executor.Ran]:
        """Outcomes not written yet (waiting, or being written)."""
        return [*self._writing, *self._buffer]

    def pending(self) -> set[int]:
        """Ids of jobs whose outcome is waiting or being written."""
        return {ran.job.id for ran in self.waiting()} | self.abandoned

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
            self._writing = batch
            try:
                await self._write(batch)
            finally:
                self._writing = []
        self._ready.clear()
        self._idle.set()

    async def _write(self, batch: list[executor.Ran]) -> None:
        written, lost = await self._settle(batch)
        for job_id in lost:
            log.warning("lease lost: job %s was rescued or changed while it ran; "
                        "its outcome was not written", job_id)
        self.lost += len(lost)
        if self._on_settled is not None:
            self._on_settled(len(batch))
        self._count(batch, written)
        for ran in written:
            if ran.outcome.target == model.JobState.DISCARDED:
                await self._discarded(ran)

    async def _settle(self, batch: list[executor.Ran]) -> tuple[list[executor.Ran], set[int]]:
        """Write `batch`; returns what was written and the ids whose lease was lost. When the
        database refuses the batch (a data error, not an outage), each outcome is settled
        alone, so one that cannot be stored never holds up the others."""
        try:
            settled = await self._finish(batch)
        except Exception as exc:
            if len(batch) == 1:
                return await self._replace(batch[0], exc)
            log.warning("the database refused a batch of %d outcomes (%s); settling them "
                        "one by one", len(batch), failure.clipped(failure.message_of(exc), 300))
            written: list[executor.Ran] = []
            lost: set[int] = set()
            for ran in batch:
                done, gone = await self._settle([ran])
                written += done
                lost |= gone
            return written, lost
        return [r for r in batch if r.outcome.job_id in settled.written], set(settled.lost)

    async def _finish(self, batch: list[executor.Ran]) -> base.Settled:
        """`Backend.finish`, retried with backoff for as long as storage is unavailable.
        A refusal (`Unstorable`) is raised at once; any other error after a few tries."""
        delay, unexplained = 0.05, 0
        while True:
            try:
                await self._block_keys(batch)
                return await self.backend.finish(outcomes_of(batch), self.app.clock.now(),
                                                 self.app.settings.max_errors)
            except errors.Unstorable:
                raise
            except _OUTAGES as exc:  # keep the outcomes, try again
                log.warning("could not settle %d jobs (%s); retrying in %.2fs",
                            len(batch), exc, delay)
            except Exception as exc:
                unexplained += 1
                if unexplained >= _UNEXPLAINED_TRIES:
                    raise
                log.warning("could not settle %d jobs (%s: %s); retrying in %.2fs", len(batch),
                            type(exc).__name__, exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def _replace(self, ran: executor.Ran,
                       exc: Exception) -> tuple[list[executor.Ran], set[int]]:
        """The database refused this outcome: end the job with a plain error saying why."""
        stand_in = unstorable(ran, exc, self.app.clock.now())
        log.error("job %s %s: its outcome could not be stored (%s); it ends %s instead",
                  ran.job.id, ran.job.name, failure.clipped(failure.message_of(exc), 300),
                  stand_in.outcome.target.value)
        try:
            settled = await self._finish([stand_in])
        except Exception as again:
            log.error("job %s %s: not even that could be stored (%s); it stays running until "
                      "this worker stops, then the leader rescues it", ran.job.id, ran.job.name,
                      failure.clipped(failure.message_of(again), 300))
            self.abandoned.add(ran.job.id)
            return [], set()
        return ([stand_in] if settled.written else []), set(settled.lost)

    def _count(self, batch: list[executor.Ran], written: list[executor.Ran]) -> None:
        """Tally the outcomes that were written (a stand-in for a refused one counts as
        what it is), with their run time (start, or claim when not known, to outcome)."""
        now, add = self.app.clock.now(), self.tally.add
        ended_at, began_at = self._ended.pop, self._began.pop
        for ran in written:
            job = ran.job
            ended, began = ended_at(job.id, now), began_at(job.id, None)
            kind = metrics.kind_of(ran.outcome)
            if kind is not None:
                runtime = (ended - (began or job.attempted_at or ended)).total_seconds()
                add(ended, job.queue, job.name, kind, runtime if runtime > 0.0 else 0.0)
        if len(written) < len(batch):  # lost leases: their times go too
            for ran in batch:
                ended_at(ran.job.id, None)
                began_at(ran.job.id, None)

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
        except asyncio.CancelledError:
            raise
        except BaseException:  # even SystemExit from a hook must not stop the settler
            log.exception("on_discard hook of job %s (%s) failed", ran.job.id, ran.job.name)


def outcomes_of(rans: list[executor.Ran]) -> list[outcome.Outcome]:
    """What `Backend.finish` takes: each outcome knowing its job's batch."""
    return [dataclasses.replace(ran.outcome, batch_id=ran.job.batch_id)
            if ran.job.batch_id is not None else ran.outcome for ran in rans]


def unstorable(ran: executor.Ran, exc: BaseException, now: datetime) -> executor.Ran:
    """The outcome that ends a job whose own outcome the database refused: an error made of
    plain text that says why. A result that cannot be stored discards the job (running it
    again would not help); otherwise the job ends as it was going to, or is retried."""
    job, ended = ran.job, ran.outcome
    verb = {outcome.Completed: "completed, but its result", outcome.Snoozed: "snoozed, but that"
            }.get(type(ended), "ended, but its error")
    message = f"the job {verb} could not be stored: {failure.message_of(exc)}"[:2000]
    error = failure.plain_error_json(job.attempt, now, "Unstorable", message)
    reason = errors.Unstorable(message)
    match ended:
        case outcome.Cancelled():
            return executor.Ran(outcome.Cancelled(job.id, job.attempt, error), job, reason)
        case outcome.Interrupted():
            return executor.Ran(outcome.Interrupted(job.id, job.attempt, error), job, reason)
        case outcome.Failed(retry_at=retry_at) | outcome.Snoozed(run_at=retry_at):
            if job.attempt >= job.max_attempts:
                retry_at = None
            return executor.Ran(outcome.Failed(job.id, job.attempt, error, retry_at), job, reason)
    return executor.Ran(outcome.Failed(job.id, job.attempt, error, None), job, reason)
