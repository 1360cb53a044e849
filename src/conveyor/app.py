"""The application object: job registration, enqueueing, reading jobs, and draining.

One `Conveyor` per process is typical. Its storage is opened lazily, once per event loop
(a database connection belongs to the loop that opened it); blocking calls run on a private
loop per thread (see `blocking`), except enqueues and reads, which call the thread's backend
directly once it is open (`insert_blocking`, `get_blocking`: no loop crossed). How rows are
inserted is `inserting`'s (a base class of `Conveyor`).
"""

from __future__ import annotations

import asyncio
import os
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ParamSpec, TypeVar, overload

from conveyor import (
    admin,
    batches,
    blocking,
    context,
    cron,
    crontab,
    declare,
    errors,
    groupcommit,
    hooks,
    inserting,
    metrics,
    model,
    redact,
    registry,
    tracing,
    tuning,
    workflows,
)
from conveyor import clock as clocks
from conveyor.backends import base, urls
from conveyor.settings import Settings

P = ParamSpec("P")
R = TypeVar("R")
DEFAULT_URL = "sqlite:///conveyor.db"


class Conveyor(inserting.Inserting):
    """Registers jobs and talks to storage. `Conveyor()` reads `$CONVEYOR_URL`; `settings`
    are overridden by `CONVEYOR_<FIELD>` environment variables (see `tuning`)."""

    def __init__(self, url: str | None = None, *, clock: clocks.Clock | None = None,
                 settings: Settings | None = None) -> None:
        self.url = url or os.environ.get("CONVEYOR_URL") or DEFAULT_URL
        urls.check_url(self.url)
        self.clock: clocks.Clock = clock or _system_clock()
        self.settings = tuning.from_environment(settings or Settings())
        self.registry = registry.Registry()
        self.blocking = blocking.BlockingRunner()
        self._backends: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, base.Backend] = \
            weakref.WeakKeyDictionary()
        self._groups: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop,
                                                 groupcommit.GroupCommit] = \
            weakref.WeakKeyDictionary()
        self._migrated = False
        self.admin = admin.Admin(self)
        self.schedules: dict[str, cron.Schedule] = {}
        self.hooks = hooks.Hooks()
        """Observers of enqueues and attempts (`conveyor.contrib.otel`, JSON logs)."""
        self.storage_calls = metrics.CallTally()
        """Calls into the backend from this process, per method (see `tracing`)."""
        # Close connections opened by the blocking API at exit even if nobody calls close().
        self._finalizer = weakref.finalize(self, _close_all, self.blocking, self._backends)

    def __repr__(self) -> str:
        return f"Conveyor({redact.url(self.url)!r})"

    def use_url(self, url: str) -> None:
        """Point this app at another database (`--url` with `--app`) before it opens one."""
        urls.check_url(url)
        if len(self._backends):
            raise errors.ConfigurationError(f"cannot switch {self!r} to {redact.url(url)!r}: "
                                            "it already opened its database (at import?)")
        self.url = url

    # -- declaring jobs -------------------------------------------------------------------

    @overload
    def job(self, func: Callable[P, R], /) -> registry.JobType[P, R]: ...

    @overload
    def job(self, func: None = None, /, **config: Any
            ) -> Callable[[Callable[P, R]], registry.JobType[P, R]]: ...

    def job(self, func: Callable[P, R] | None = None, /, **config: Any) -> Any:
        """Declare a job: `@app.job` or `@app.job(queue=..., priority=..., max_attempts=...,
        backoff=[30, 60] | seconds | callable, timeout=..., on_discard=..., name=...)`."""
        if func is not None:
            return self._register(func, config)
        return lambda f: self._register(f, config)

    def _register(self, func: Callable[P, R], config: dict[str, Any]) -> registry.JobType[P, R]:
        job_type = declare.job_type(self, func, config)
        self.registry.add(job_type)
        return job_type

    def cron(self, expression: str, job: registry.JobType[Any, Any] | registry.Signature,
             args: Sequence[Any] = (), kwargs: dict[str, Any] | None = None, *,
             name: str | None = None, tz: Any = "UTC", misfire: str = "run_once",
             catch_up_limit: int = 10, grace: float = 60.0) -> cron.Schedule:
        """Enqueue `job(*args, **kwargs)` at every slot of the cron `expression` in time
        zone `tz`; e.g. `app.cron("0 2 * * *", nightly_sync, args=(1,),
        tz="Europe/Warsaw")`. Validated now: a bad expression raises `InvalidSchedule`
        naming the schedule and the field. `misfire` decides what happens to slots missed
        while no worker ran: "skip", "run_once" (default) or "catch_up" (up to
        `catch_up_limit`)."""
        call = cron.call_of(expression, job, args, kwargs, name)
        label = name or call.name
        if label in self.schedules:
            raise errors.InvalidSchedule(
                f"cron schedule {label!r} is already registered; give this one a name=")
        schedule = cron.build(label, expression, call, tz=tz, misfire=misfire,
                              catch_up_limit=catch_up_limit, grace=grace)
        self.schedules[label] = schedule
        return schedule

    async def acron_schedules(self) -> list[crontab.ScheduleInfo]:
        return await crontab.describe(self.schedules, await self.storage(), self.clock.now(),
                                      judge=bool(self.registry.names()))

    def cron_schedules(self) -> list[crontab.ScheduleInfo]:
        """Stored and declared schedules, next runs and `status` (see `crontab`); reads."""
        return self.blocking.run(self.acron_schedules)

    async def apause_cron(self, name: str, paused: bool = True, *, actor: str = "api") -> None:
        await crontab.pause(self.schedules, await self.storage(), name, paused,
                            self.clock.now(), actor)

    def pause_cron(self, name: str, paused: bool = True, *, actor: str = "api") -> None:
        """Pause a stored schedule for every scheduler, or resume it (missed slots skipped)."""
        self.blocking.run(lambda: self.apause_cron(name, paused, actor=actor))

    async def adelete_cron(self, name: str, *, actor: str = "api") -> None:
        await crontab.delete(await self.storage(), name, self.clock.now(), actor)

    def delete_cron(self, name: str, *, actor: str = "api") -> None:
        """Forget a stored schedule (audited); an app still declaring it stores it again."""
        self.blocking.run(lambda: self.adelete_cron(name, actor=actor))

    # -- storage --------------------------------------------------------------------------

    async def storage(self, *, migrate: bool = True) -> base.Backend:
        """The backend for the running event loop, migrated on first use if configured,
        else checked once (`NotMigrated`: tables missing or behind)."""
        loop = asyncio.get_running_loop()
        backend = self._backends.get(loop)
        if backend is None:
            backend = self.open_backend(create=self.settings.auto_migrate)
            self._backends[loop] = backend
        if migrate and not self._migrated:
            if self.settings.auto_migrate:
                await backend.migrate()
            else:  # nothing may be created: a missing database or table is reported
                await backend.check_schema()
            self._migrated = True
        return backend

    def open_backend(self, *, create: bool = True) -> base.Backend:
        """A new backend for this app's URL (not connected yet), every call through it timed
        and traced (`tracing`). `storage()` keeps one per event loop."""
        return tracing.traced(urls.open_backend(self.url, create=create), self.storage_calls,
                              self.hooks)

    async def amigrate(self) -> list[int]:
        """Apply pending migrations; returns the versions applied (empty: up to date)."""
        applied = await (await self.storage(migrate=False)).migrate()
        self._migrated = True
        return applied

    def migrate(self) -> list[int]:
        return self.blocking.run(self.amigrate)

    def ambient_connection(self) -> Any:
        """The caller's connection that a blocking enqueue without `using(...)` joins (an
        integration's open transaction: see `conveyor.contrib.django`); None, the default,
        means this app's own connection. Asked in the calling thread, before any I/O."""
        return None

    def enqueue(self, job_name: str, /, *args: Any, **kwargs: Any) -> model.Job:
        """Enqueue a registered job by its name (e.g. from a generic producer);
        raises `UnknownJob` for a name this app does not know, writing nothing."""
        return self.registry.get(job_name).enqueue(*args, **kwargs)

    async def aenqueue(self, job_name: str, /, *args: Any, **kwargs: Any) -> model.Job:
        return await self.registry.get(job_name).aenqueue(*args, **kwargs)

    async def aclose(self) -> None:
        """Close this event loop's connections."""
        self._groups.pop(asyncio.get_running_loop(), None)
        backend = self._backends.pop(asyncio.get_running_loop(), None)
        if backend is not None:
            await backend.close()

    def close(self) -> None:
        """Close every connection the blocking API opened."""
        _close_all(self.blocking, self._backends)

    # -- reading jobs ---------------------------------------------------------------------

    async def aget(self, job_id: int) -> model.Job:
        if not _is_id(job_id):  # an id no job can have, not a database overflow
            raise errors.JobNotFound(f"no job with id {job_id!r:.40}: ids are integers >= 1")
        job = await (await self.storage()).get(job_id)
        if job is None:
            raise errors.JobNotFound(f"no job with id {job_id}")
        return job

    def get(self, job_id: int) -> model.Job:
        backend = self._direct()
        if backend is None or not _is_id(job_id):
            return self.blocking.run(lambda: self.aget(job_id))
        job: model.Job | None = backend.get_blocking(job_id)
        if job is None:
            raise errors.JobNotFound(f"no job with id {job_id}")
        return job

    async def await_job(self, job_id: int, timeout: float | None = None) -> model.Job:
        """Wait until the job is final and return it (its `result` when completed).
        Raises TimeoutError after `timeout` seconds, naming the job and its state."""
        pause = 0.005
        job = await self.aget(job_id)
        try:
            async with asyncio.timeout(timeout):
                while not job.is_final:
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, 0.25)
                    job = await self.aget(job_id)
        except TimeoutError:
            raise TimeoutError(f"job {job_id} ({job.name}) is still {job.state.value} after "
                               f"waiting {timeout:g}s for it to finish") from None
        return job

    def wait(self, job_id: int, timeout: float | None = None) -> model.Job:
        """Blocking twin of `await_job`."""
        return self.blocking.run(lambda: self.await_job(job_id, timeout))

    async def ajobs(self, where: base.JobFilter | None = None) -> list[model.Job]:
        return await (await self.storage()).query(where or base.JobFilter())

    def jobs(self, where: base.JobFilter | None = None) -> list[model.Job]:
        return self.blocking.run(lambda: self.ajobs(where))

    async def acounts(self) -> dict[tuple[str, model.JobState], int]:
        return dict(await (await self.storage()).counts())

    def counts(self) -> dict[tuple[str, model.JobState], int]:
        return self.blocking.run(self.acounts)

    # -- batches, chains, dependencies -------------------------------------------------

    async def abatch(self, calls: Iterable[registry.Signature], *, name: str = "",
                     on_success: registry.Signature | None = None,
                     on_failure: registry.Signature | None = None,
                     on_complete: registry.Signature | None = None,
                     allow_failures: bool = False) -> batches.Batch:
        """Enqueue `calls` (e.g. `[sync_product.s(p, shop) for p in products]`, or any
        iterable: it is streamed) as one batch. Callbacks are jobs enqueued once:
        `on_failure` at the first failed job, `on_success` when all completed, `on_complete`
        when all ended. Unless `allow_failures`, the first failure cancels the jobs that
        have not started. A callback finds its batch id in `current_job().meta["batch_id"]`."""
        return await workflows.open_batch(self, calls, name=name, on_success=on_success,
                                      on_failure=on_failure, on_complete=on_complete,
                                      allow_failures=allow_failures)

    def batch(self, calls: Iterable[registry.Signature], **options: Any) -> batches.Batch:
        return self.blocking.run(lambda: self.abatch(calls, **options))

    async def aget_batch(self, batch_id: int) -> batches.Batch:
        return await workflows.get_batch(self, batch_id)

    def get_batch(self, batch_id: int) -> batches.Batch:
        """The batch with its `progress` (total, pending, completed, failed, cancelled,
        percent, finished_at)."""
        return self.blocking.run(lambda: self.aget_batch(batch_id))

    async def abatches(self, limit: int = 50) -> list[batches.Batch]:
        return await (await self.storage()).list_batches(base.check_limit(limit))

    def batches(self, limit: int = 50) -> list[batches.Batch]:
        return self.blocking.run(lambda: self.abatches(limit))

    async def aadd_to_batch(self, batch_id: int, calls: Iterable[registry.Signature]) -> int:
        return await workflows.add_to_batch(self, batch_id, calls)

    def add_to_batch(self, batch_id: int, calls: Iterable[registry.Signature]) -> int:
        """Add jobs to a batch that has not finished (for example from one of its jobs)."""
        return self.blocking.run(lambda: self.aadd_to_batch(batch_id, calls))

    async def acancel_batch(self, batch_id: int, *, actor: str = "api") -> int:
        return await workflows.cancel_batch(self, batch_id, actor=actor)

    def cancel_batch(self, batch_id: int, *, actor: str = "api") -> int:
        return self.blocking.run(lambda: self.acancel_batch(batch_id, actor=actor))

    async def aretry_batch(self, batch_id: int, *, actor: str = "api") -> int:
        return await workflows.retry_batch(self, batch_id, actor=actor)

    def retry_batch(self, batch_id: int, *, actor: str = "api") -> int:
        """Run the batch's failed and cancelled jobs again with fresh attempts."""
        return self.blocking.run(lambda: self.aretry_batch(batch_id, actor=actor))

    async def achain(self, *calls: registry.Signature) -> list[model.Job]:
        return await workflows.chain(self, calls)

    def chain(self, *calls: registry.Signature) -> list[model.Job]:
        """Run `calls` one after another: each waits until the one before completed (it can
        read that result with `results_of`); a failure cancels the rest."""
        return self.blocking.run(lambda: self.achain(*calls))

    async def aresults_of(self, job: model.Job | context.JobContext) -> dict[int, Any]:
        return await workflows.results_of(self, job)

    def results_of(self, job: model.Job | context.JobContext) -> dict[int, Any]:
        """Results of the jobs `job` (or `current_job()`) depended on, by id."""
        return self.blocking.run(lambda: self.aresults_of(job))

    # -- running jobs in this process -----------------------------------------------------

    async def adrain(self, queues: Sequence[str] | None = None, concurrency: int = 10) -> int:
        """Run every due job (optionally only in `queues`) here until none is left.
        Returns how many attempts ran. For tests and scripts. An app without registered
        jobs runs nothing (a worker would refuse to start): it leaves other apps' jobs be."""
        from conveyor.worker import runner

        if not self.registry.names():
            return 0
        worker = runner.Worker(self, runner.WorkerConfig(
            queues=tuple(queues or ()), concurrency=concurrency, burst=True,
            leader=False, heartbeat_thread=False, install_signals=False))
        return await worker.run()

    def drain(self, queues: Sequence[str] | None = None, concurrency: int = 10) -> int:
        return self.blocking.run(lambda: self.adrain(queues, concurrency))


def _close_all(runner: blocking.BlockingRunner,
               backends: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, base.Backend],
               ) -> None:
    async def close_this_loops() -> None:
        backend = backends.pop(asyncio.get_running_loop(), None)
        if backend is not None:
            await backend.close()

    runner.close(close_this_loops)


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value < 2**63


def _system_clock() -> clocks.Clock:
    return clocks.SystemClock()

