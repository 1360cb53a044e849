"""One worker: claim jobs in batches sized to free slots, run them, settle them in batches.

With `claim_ahead`, a worker also claims a few jobs beyond its free slots (`pacing`): they
wait in a small buffer (`buffer`), leased to it (`running` for this worker in storage), and
start as slots free up, so jobs run while the next claim is in flight. Buffered jobs count as
the worker's own for the lost-track check and `max_jobs`; a cancel request settles one
cancelled, and stopping hands them back unstarted (attempt refunded). A claim that finds
nothing waits for a wake-up, or ends a burst (`idle`).

A worker is one asyncio loop. It registers itself (heartbeat) before its first claim, runs the
leader chores when it holds the lease, and on SIGTERM stops claiming, lets running jobs finish
within the grace period and hands the rest back as `available`. A second signal hands the
running jobs back at once (`signals`) and exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import socket
import uuid
from collections import deque
from collections.abc import Coroutine, Sequence
from typing import Any

from conveyor import clock as clocks
from conveyor import context, model, outcome
from conveyor.app import Conveyor
from conveyor.backends import base
from conveyor.worker import (
    buffer,
    executor,
    heartbeat,
    idle,
    lanes,
    leader,
    orphans,
    queues,
    settle,
    signals,
    waits,
)

log = logging.getLogger("conveyor.worker")
Chore = asyncio.Task[None] | heartbeat.HeartbeatThread
SHUTDOWN_STEP_DEADLINE = 10.0
"""Seconds a cancelled chore, or the closing of storage, may take before shutdown goes on."""
_UNOBSERVED: contextlib.nullcontext[None] = contextlib.nullcontext()


@dataclasses.dataclass(frozen=True, slots=True)
class WorkerConfig:
    queues: tuple[str, ...] = ()
    """Served in this order (earlier queues first). Empty: the queues of registered job
    types, then any queue where jobs of registered names wait (see `queues`)."""
    concurrency: int = 10
    burst: bool = False
    """Exit when nothing is due and nothing runs."""
    max_jobs: int | None = None
    max_time: float | None = None
    grace: float = 30.0
    leader: bool = True
    heartbeat_thread: bool = True
    install_signals: bool = True
    idle_wait: float = 1.0
    """Longest sleep between claims when there is no wake-up."""
    claim_ahead: bool = False
    """Claim a few jobs beyond the free slots (`pacing`), so jobs run while the next claim
    travels. Off by default: with the database on the workers' own cores it measured no
    gain (it pays only where a claim's round trip is idle time, a database on another host)."""


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Worker:
    """Runs jobs until stopped, `max_jobs`/`max_time` is reached, or (burst) nothing is due."""

    def __init__(self, app: Conveyor, config: WorkerConfig | None = None) -> None:
        self.app = app
        self.config = config or WorkerConfig()
        if self.config.concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, got {self.config.concurrency}")
        queues.check_registered(app)
        self.id = new_worker_id()
        self.plan = queues.QueuePlan(app, self.config.queues)
        self.executor = executor.Executor(app, threads=self.config.concurrency)
        self.started = 0
        self._running: dict[int, asyncio.Task[None] | None] = {}
        """The task running each job; None while it waits its turn in a lane."""
        self._lanes = lanes.Lanes(self._turn)
        self._contexts: dict[int, context.JobContext] = {}
        self._stopping = asyncio.Event()
        config = self.config
        self._buffer = buffer.Buffer(config.concurrency, config.claim_ahead, config.max_jobs,
                                     self._running, self._stopping, self._start)
        self._freed = self._buffer.freed
        """A slot freed up (bound once: it runs at every job's end)."""
        self._idle = idle.Idle(app, self.plan, burst=config.burst, idle_wait=config.idle_wait,
                               running=self._running, stopping=self._stopping,
                               slot_freed=self._buffer.slot_freed)
        self._signals = signals.Signals(self.request_stop, self._hand_back, self.config.grace)
        self._claiming = False
        self._snoozed: set[int] = set()
        """Burst: jobs that snoozed during it; running them again is not progress."""
        self._backend: base.Backend | None = None
        self._settler: settle.Settler | None = None

    def request_stop(self) -> None:
        """Stop claiming; running jobs get the grace period to finish."""
        self._stopping.set()

    async def run(self) -> int:
        """Run until told to stop; returns the number of attempts started."""
        if self.config.install_signals:  # first: a signal during start-up is a clean stop
            self._signals.install()
        backend = self._backend = await self.app.storage()
        served = self.plan.served
        await backend.heartbeat(self.id, served, self.app.clock.now(), base.WorkerSpec(
            socket.gethostname(), os.getpid(), self.config.concurrency),
            database_clock=clocks.is_wall(self.app.clock))
        settler = self._settler = settle.Settler(self.app, backend)
        settler.start()
        chores = self._start_chores(backend, settler, served)
        tunables = self.app.settings
        log.info("worker %s started: queues=%s%s concurrency=%d heartbeat=%gs lease=%gs "
                 "rescue=%gs grace=%gs", self.id, ",".join(served),
                 "" if self.plan.given else " (and others with jobs it knows)",
                 self.config.concurrency, tunables.heartbeat_interval, tunables.lease_timeout,
                 tunables.rescue_interval, self.config.grace)
        try:
            await self._fetch_loop(backend, settler)
        finally:
            await self._shutdown(backend, settler, chores)
        return self.started

    # -- claiming -------------------------------------------------------------------------

    async def _fetch_loop(self, backend: base.Backend, settler: settle.Settler) -> None:
        loop = asyncio.get_running_loop()
        deadline = None if self.config.max_time is None else loop.time() + self.config.max_time
        while not self._stopping.is_set():
            if deadline is not None and loop.time() >= deadline:
                log.info("worker %s reached --max-time", self.id)
                break
            if self.config.max_jobs is not None and self.started >= self.config.max_jobs:
                log.info("worker %s reached --max-jobs", self.id)
                break
            room = await self._buffer.room(self.started)
            if room == 0:
                continue
            began = loop.time()
            jobs = await self._claim(backend, room)
            self._buffer.pacing.claimed(began, loop.time())
            if self._stopping.is_set():  # signalled while the claim was in flight
                for job in jobs:  # hand them back unstarted, attempt refunded
                    settler.add(self.executor.interrupted(job))
                self._claiming = False
                break
            if any(job.id not in self._snoozed for job in jobs):
                self._idle.progressed()
            self._buffer.jobs.extend(jobs)
            self._buffer.fill()
            self._claiming = False
            # Fewer than asked: nothing more is due now, so wait for a wake-up instead of a
            # claim that finds nothing (burst workers count empty claims to know they are done).
            drained = not jobs or (len(jobs) < room and not self.config.burst)
            if drained and jobs:  # the jobs just started run before the idle look-ups
                await asyncio.sleep(0)
            if drained and await self._idle.wait(backend, settler):
                break

    async def _claim(self, backend: base.Backend, limit: int) -> list[model.Job]:
        if self._stopping.is_set():
            return []
        self._claiming = True  # until the claimed jobs are started (or handed back)
        try:
            return await self.plan.claim(backend, limit, self.id, self.app.clock.now())
        except Exception as exc:  # storage down: back off, keep the worker alive
            self._claiming = False
            log.warning("claim failed: %s", exc)
            await waits.first(asyncio.sleep(1.0), self._stopping.wait())
            return []

    # -- running --------------------------------------------------------------------------

    def _start(self, jobs: list[model.Job]) -> None:
        """Buffered jobs got free slots; their run time counts from now (a job may have
        waited for its slot since its claim). Async jobs start in one lane (no task each
        while they end without suspending); plain `def` and process-isolated jobs, which
        always suspend, get a task each."""
        settler = self._settler
        assert settler is not None  # jobs are claimed, so buffered, only once it is set
        settler.began([job.id for job in jobs], self.app.clock.now())
        lane: deque[model.Job] = deque()
        running, contexts, find = self._running, self._contexts, self.app.registry.find
        self.started += len(jobs)
        for job in jobs:
            ctx = contexts[job.id] = context.JobContext(job)
            job_type = find(job.name)
            if job_type is not None and job_type.is_async and job_type.isolation != "process":
                running[job.id] = None
                lane.append(job)
            else:
                running[job.id] = asyncio.create_task(
                    self._execute(job, ctx, settler), name=f"conveyor-job-{job.id}")
        if lane:
            self._lanes.open(lane)

    def _turn(self, job: model.Job,
              task: asyncio.Task[None]) -> Coroutine[Any, Any, None] | None:
        """A lane reached `job`; None when it was cancelled while it waited its turn (it is
        settled cancelled without running)."""
        ctx, settler = self._contexts.get(job.id), self._settler
        if ctx is None or settler is None:
            return None
        if ctx.cancel_requested.is_set():
            self._running.pop(job.id, None)
            self._contexts.pop(job.id, None)
            self._freed()
            settler.add(self.executor.cancelled(job, "cancelled by operator"))
            return None
        self._running[job.id] = task
        return self._execute(job, ctx, settler)

    async def _execute(self, job: model.Job, ctx: context.JobContext,
                       settler: settle.Settler) -> None:
        """The job's task: it always hands an outcome to the settler and never raises, so
        no job stays `running` behind a live worker's heartbeat. One coroutine, awaiting
        `run` directly: a `GeneratorExit` a future raises (a job's thread raised it) is
        thrown into the task's coroutine, which closes the coroutines its await delegates
        to and surfaces at the outermost one, so the last guard must be right here."""
        observed = self.app.hooks.attempt  # nothing observes attempts: no hook scope per job
        with self.app.hooks.attempting(job, self.id) if observed else _UNOBSERVED as attempt:
            try:
                ran = await self.executor.run(job, ctx)
            except asyncio.CancelledError:
                ran = (self.executor.cancelled(job, "cancelled by operator")
                       if ctx.cancel_requested.is_set() else self.executor.interrupted(job))
            except BaseException as exc:  # `run` never raises; this is the last guard
                ran = self.executor.last_resort(job, exc)
            finally:
                self._running.pop(job.id, None)
                self._contexts.pop(job.id, None)
                self._freed()
            if attempt is not None:
                attempt.outcome, attempt.error = ran.outcome, ran.error
        if self.config.burst and isinstance(ran.outcome, outcome.Snoozed):
            self._snoozed.add(job.id)
        settler.add(ran)

    def cancel_running(self, job_ids: Sequence[int]) -> None:
        """Operator cancel requests: async jobs are cancelled and process-isolated ones
        killed now; plain `def` jobs in threads see `current_job().cancel_requested` set and
        stop when they next look."""
        for job_id in job_ids:
            if self._settler is not None and (job := self._buffer.take(job_id)) is not None:
                log.info("cancelling claimed job %s on request before it started", job_id)
                self._settler.add(self.executor.cancelled(job, "cancelled by operator"))
                continue
            ctx, task = self._contexts.get(job_id), self._running.get(job_id)
            if ctx is None or ctx.cancel_requested.is_set():
                continue
            log.info("cancelling running job %s on request", job_id)
            ctx.cancel_requested.set()
            if task is None:  # waits its turn in a lane, which settles it cancelled
                continue
            job_type = self.app.registry.find(ctx.job.name)
            if job_type is not None and (job_type.is_async or job_type.isolation == "process"):
                task.cancel()

    # -- start-up and shutdown ------------------------------------------------------------

    def _start_chores(self, backend: base.Backend, settler: settle.Settler,
                      queues: Sequence[str]) -> list[Chore]:
        chores: list[Chore] = []
        interval = self.app.settings.heartbeat_interval
        chores.append(asyncio.create_task(orphans.watch(
            backend, self.id, interval,
            tracked=lambda: set(self._running) | {job.id for job in self._buffer.jobs}
            | settler.pending(),
            claiming=lambda: self._claiming,
            orphaned=lambda job: settler.add(self.executor.lost(job))), name="conveyor-books"))
        if self.config.heartbeat_thread:
            loop = asyncio.get_running_loop()
            thread = heartbeat.HeartbeatThread(
                self.app, self.id, queues, interval,
                on_cancel=lambda ids: loop.call_soon_threadsafe(self.cancel_running, ids))
            thread.start()
            chores.append(thread)
        else:
            chores.append(asyncio.create_task(self._beat_forever(backend, queues, interval)))
        if self.config.leader:
            self._leader = leader.Leader(self.app, backend, self.id)
            chores.append(asyncio.create_task(self._leader.run_forever(), name="conveyor-leader"))
        return chores

    async def _beat_forever(self, backend: base.Backend, queues: Sequence[str],
                            interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            self.cancel_running(await heartbeat.beat(self.app, backend, self.id, queues))

    async def _shutdown(self, backend: base.Backend, settler: settle.Settler,
                        chores: list[Chore]) -> None:
        self._stopping.set()
        for job in self._buffer.drain():  # back unstarted (attempt refunded), for others
            settler.add(self.executor.interrupted(job))
        running = {task for task in self._running.values() if task is not None}
        running |= self._lanes.tasks
        if running:
            log.info("worker %s waiting up to %.0fs for %d running jobs", self.id,
                     self.config.grace, len(self._running))
            _, late = await asyncio.wait(running, timeout=self.config.grace)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        for ctx in list(self._contexts.values()):  # a lane cancelled before their turn
            self._contexts.pop(ctx.job.id, None)
            settler.add(self.executor.interrupted(ctx.job))
        await settler.stop()
        left: list[asyncio.Future[Any]] = [c for c in chores if isinstance(c, asyncio.Task)]
        if self._idle.stopped is not None:  # the idle waits' stop future
            left.append(self._idle.stopped)
        await waits.cancel(left, SHUTDOWN_STEP_DEADLINE)
        for chore in chores:
            if isinstance(chore, heartbeat.HeartbeatThread):
                await asyncio.to_thread(chore.stop)
        if self.config.leader:
            await waits.quietly(self._leader.resign())
        await waits.quietly(backend.retire(self.id))
        self.executor.shutdown()
        log.info("worker %s stopped after %d attempts", self.id, self.started)
        if log.isEnabledFor(logging.DEBUG):  # conveyor -v worker: where storage time went
            log.debug("storage calls of this process: %s", "; ".join(
                f"{s.method} {s.calls}x {s.mean * 1000:.2f} ms avg, {s.slowest * 1000:.1f} max"
                + (f", {s.errors} failed" if s.errors else "")
                for s in self.app.storage_calls.snapshot()))
        self.app.hooks.worker_stopped()

    async def _hand_back(self, reason: str) -> int:
        """A forced stop: running and buffered jobs go back to `available` (attempt
        refunded) and finished ones are settled, in one write; how many were running."""
        rans = [self.executor.interrupted(job, reason)
                for job in [*(ctx.job for ctx in self._contexts.values()), *self._buffer.jobs]]
        if self._settler is not None:
            rans += self._settler.waiting()
        if not rans or self._backend is None:
            return 0
        await self._backend.finish(settle.outcomes_of(rans), self.app.clock.now(),
                                   self.app.settings.max_errors)
        return len(self._contexts)


def catch_early_signals() -> None:
    """Remember SIGTERM/SIGINT that arrive before the worker's loop takes them over."""
    signals.catch_early()
