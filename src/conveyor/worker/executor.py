"""Run one claimed job and decide how its attempt ended.

`async def` jobs run on the worker's loop (in lanes, see `lanes`); plain `def` jobs in a
thread pool. The decision - completed, retry at a time, discard, snooze, cancel - is policy,
made here in Python once for every backend.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import logging
from collections.abc import Awaitable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from conveyor import (
    backoff,
    context,
    control,
    encoding,
    errors,
    model,
    outcome,
    registry,
    storedjob,
)
from conveyor.app import Conveyor
from conveyor.worker import failure, isolation, orphans

log = logging.getLogger("conveyor.worker")
_UNKNOWN_JOB_BACKOFF = backoff.exponential(base=30.0, cap=3600.0)
LOGGED_MESSAGE_LIMIT = 500
_LONGEST_DELAY = 100 * 365 * 86_400.0


@dataclasses.dataclass(slots=True)
class Ran:
    """An attempt's outcome, plus what the discard hook needs if the job was discarded.
    Not frozen: one is built per attempt, and a frozen dataclass sets each field through
    `object.__setattr__` (4% of the worker's own instructions per no-op job). Nothing
    changes one once built."""

    outcome: outcome.Outcome
    job: model.Job
    error: BaseException | None = None
    block_keys: tuple[str, ...] = ()
    """Rate keys to block until the outcome's run_at (the API said to back off)."""


class Executor:
    """Runs jobs of one application; owns the thread pool for plain `def` jobs."""

    def __init__(self, app: Conveyor, threads: int) -> None:
        self.app = app
        self._threads = threads
        self._pool: ThreadPoolExecutor | None = None
        self._processes: isolation.ProcessPool | None = None

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        if self._processes is not None:
            self._processes.close()

    async def run(self, job: model.Job, ctx: context.JobContext) -> Ran:
        """Run `job` once and say how the attempt ended, whatever the job raised or
        returned. Never raises except `CancelledError` when the worker cancelled the job
        (shutdown, or an operator's cancel)."""
        context.enter(ctx)
        try:
            args, kwargs, meta, malformed = storedjob.arguments(job)
            if malformed is not None:
                return self._fail(job, errors.MalformedJob(malformed), final=True)
            job_type = self.app.registry.find(job.name)
            if job_type is None:
                return self._unknown(job)
            try:
                value = await self._call(job_type, job, args, kwargs, meta)
            except asyncio.CancelledError as exc:
                if _cancelled_from_outside():
                    raise
                return self._raised(job, job_type, ctx, exc)  # job code raised it itself
            except BaseException as exc:  # SystemExit, KeyboardInterrupt...: the job's own
                return self._raised(job, job_type, ctx, exc)
            return self._complete(job, value)
        except asyncio.CancelledError:
            if _cancelled_from_outside():
                raise
            return self.last_resort(job, asyncio.CancelledError())
        except BaseException as exc:  # deciding failed (a broken backoff callable...)
            return self.last_resort(job, exc)

    def _raised(self, job: model.Job, job_type: registry.JobType[..., Any],
                ctx: context.JobContext, exc: BaseException) -> Ran:
        """The attempt raised `exc`: control exceptions steer the job, anything else is a
        failure retried with the job's backoff."""
        if isinstance(exc, control.Snooze):
            return Ran(outcome.Snoozed(job.id, job.attempt, self._after(exc.seconds)), job)
        if isinstance(exc, control.RateLimited):
            return self._rate_limited(job, exc)
        if isinstance(exc, control.Cancel):
            return Ran(outcome.Cancelled(job.id, job.attempt, self._error(job, exc)), job)
        if isinstance(exc, control.Discard):
            return self._fail(job, exc, final=True)
        if isinstance(exc, control.Retry):
            delay = exc.in_ if exc.in_ is not None else job_type.backoff(job.attempt)
            return self._fail(job, exc, delay=delay)
        if isinstance(exc, isolation.UnstorableResult):  # as in `_complete`: done, for good
            return self._fail(job, exc, final=True)
        if isinstance(exc, isolation.ChildCrashed):
            return self._crashed(job, exc, job_type.backoff(job.attempt))
        if ctx.cancel_requested.is_set():  # a cooperative job stopped on request
            return self.cancelled(job, "cancelled by operator")
        return self._fail(job, exc, delay=job_type.backoff(job.attempt))

    def last_resort(self, job: model.Job, exc: BaseException) -> Ran:
        """An outcome built without job code or policy callables, for when deciding the
        normal one failed: retried in a minute (discarded when out of attempts)."""
        now = self.app.clock.now()
        retry_at = now + timedelta(seconds=60) if job.attempt < job.max_attempts else None
        text = failure.message_of(exc)
        log.error("job %s %s attempt %d: could not decide how it ended (%s: %s)", job.id,
                  job.name, job.attempt, failure.type_of(exc), failure.clipped(text, 500))
        error = failure.plain_error_json(
            job.attempt, now, failure.type_of(exc),
            f"the worker could not decide how this attempt ended: {text}"[:2000])
        return Ran(outcome.Failed(job.id, job.attempt, error, retry_at), job, exc)

    def _process_pool(self) -> isolation.ProcessPool:
        if self._processes is None:
            self._processes = isolation.ProcessPool(self._threads, self._isolated_modules())
        return self._processes

    def _call(self, job_type: registry.JobType[..., Any], job: model.Job, args: Sequence[Any],
              kwargs: Mapping[str, Any], meta: Mapping[str, Any]) -> Awaitable[Any]:
        """What to await for the job's value (`args`, `kwargs` and `meta` are the job's): an
        `async def` job without a timeout is its own coroutine, awaited with no wrapper of
        ours."""
        timeout = meta.get("timeout") or job_type.defaults.timeout
        if job_type.isolation == "process":
            return self._in_process(job_type, job, timeout)
        if job_type.is_async:
            if timeout is None:  # no scope to enter: nothing to enforce
                return job_type.func(*args, **kwargs)  # type: ignore[no-any-return]
            return self._within(job_type, job, timeout)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._threads, thread_name_prefix="conveyor-job")
        context = contextvars.copy_context()
        return asyncio.get_running_loop().run_in_executor(
            self._pool, lambda: context.run(job_type.func, *args, **kwargs))

    async def _in_process(self, job_type: registry.JobType[..., Any], job: model.Job,
                          timeout: float | None) -> Any:
        func = job_type.func
        try:
            return await self._process_pool().run(func.__module__, func.__qualname__,
                                                  list(job.args), dict(job.kwargs), timeout)
        except TimeoutError:  # the pool's deadline (the job's own errors are remote)
            raise _timed_out(job, timeout, "its process was killed") from None

    @staticmethod
    async def _within(job_type: registry.JobType[..., Any], job: model.Job,
                      timeout: float) -> Any:
        # A timeout scope rather than wait_for: the job runs in this very task, so
        # whatever it raises (even SystemExit) reaches `run`, not the event loop.
        scope = asyncio.timeout(timeout)
        try:
            async with scope:
                return await job_type.func(*job.args, **job.kwargs)
        except TimeoutError:
            if scope.expired():
                raise _timed_out(job, timeout, "was cancelled") from None
            raise

    def _isolated_modules(self) -> list[str]:
        """Modules a process-isolated job lives in: imported once, ahead of the first child."""
        return sorted({t.func.__module__ for t in self.app.registry.types()
                       if t.isolation == "process" and t.func.__module__ != "__main__"})

    def _rate_limited(self, job: model.Job, exc: control.RateLimited) -> Ran:
        """Back off the whole key for every worker; this job waits too, attempt refunded."""
        keys = tuple(k for k in job.rate_keys if exc.key in (None, k, k.rsplit("@", 1)[0]))
        if not keys and exc.key is not None:
            keys = tuple(job.rate_keys)
        log.warning("job %s %s: rate limited for %.1fs, pausing %s", job.id, job.name,
                    exc.retry_after, ", ".join(keys) or "this job only")
        return Ran(outcome.Snoozed(job.id, job.attempt, self._after(exc.retry_after)), job,
                   block_keys=keys)

    def cancelled(self, job: model.Job, reason: str) -> Ran:
        return Ran(outcome.Cancelled(job.id, job.attempt,
                                     self._error(job, control.Cancel(reason))), job)

    def lost(self, job: model.Job) -> Ran:
        """A job storage held running for this worker, which was not running it."""
        exc = orphans.LostTrack("the worker lost track of this attempt: its task had ended "
                                "without an outcome")
        return self._fail(job, exc, delay=0.0)

    def interrupted(self, job: model.Job, reason: str = "interrupted by shutdown") -> Ran:
        entry = model.JobError(attempt=job.attempt, at=self.app.clock.now(),
                               type="Interrupted", message=reason)
        return Ran(outcome.Interrupted(job.id, job.attempt,
                                       encoding.dumps(entry.to_json(), what="error")), job)

    def _complete(self, job: model.Job, value: Any) -> Ran:
        try:
            result = None if value is None else encoding.dumps(
                value, what=f"result of job {job.name!r}", limit=self.app.settings.result_limit)
        except Exception as exc:
            # The work is done; running it again would not make the result storable.
            return self._fail(job, exc, final=True)
        return Ran(_completed(job.id, job.attempt, result), job)

    def _crashed(self, job: model.Job, exc: isolation.ChildCrashed, delay: float) -> Ran:
        """Quarantine a job that keeps taking its process down, whatever attempts it has left."""
        crashes = 1 + sum(e.type == "ChildCrashed" for e in job.errors)
        limit = self.app.settings.crash_limit
        if crashes < limit:
            return self._fail(job, exc, delay=delay)
        quarantined = isolation.ChildCrashed(f"{exc}; quarantined after {crashes} crashes")
        return self._fail(job, quarantined, final=True)

    def _unknown(self, job: model.Job) -> Ran:
        """A name this deploy does not know: retry later (a newer deploy may), never drop."""
        exc = errors.UnknownJob(f"no job named {job.name!r} is registered in this worker")
        return self._fail(job, exc, delay=_UNKNOWN_JOB_BACKOFF(job.attempt))

    def _fail(self, job: model.Job, exc: BaseException, *, delay: float | None = None,
              final: bool = False) -> Ran:
        retry_at = None if final or delay is None else self._after(delay)
        if job.attempt >= job.max_attempts or _past_deadline(job, retry_at):
            retry_at = None
        level = logging.ERROR if retry_at is None else logging.WARNING
        kind = exc.type_name if isinstance(exc, isolation.RemoteError) else failure.type_of(exc)
        log.log(level, "job %s %s attempt %d/%d failed: %s: %s", job.id, job.name, job.attempt,
                job.max_attempts, kind,
                failure.clipped(failure.message_of(exc), LOGGED_MESSAGE_LIMIT))
        failed = outcome.Failed(job.id, job.attempt, self._error(job, exc), retry_at)
        return Ran(failed, job, exc)

    def _after(self, seconds: float) -> datetime:
        """`seconds` from now; NaN counts as none, and a delay is at most a century."""
        seconds = seconds if seconds >= 0 else 0.0
        return self.app.clock.now() + timedelta(seconds=min(seconds, _LONGEST_DELAY))

    def _error(self, job: model.Job, exc: BaseException) -> str:
        if isinstance(exc, isolation.RemoteError):  # report the child's error, not the relay
            kind, trace = exc.type_name, exc.remote_traceback
        else:
            kind, trace = failure.type_of(exc), failure.traceback_of(exc)
        return failure.error_json(job.attempt, self.app.clock.now(), kind,
                                  failure.message_of(exc), trace, self.app.settings.error_limit)


class _BlankCompleted:
    """An `outcome.Completed` being filled: its slots, in its order (its memory layout),
    without the frozen `__setattr__`."""

    __slots__ = ("job_id", "attempt", "result_json", "batch_id")  # noqa: RUF023 - the layout
    job_id: int
    attempt: int
    result_json: str | None
    batch_id: int | None


if _BlankCompleted.__slots__ != outcome.Completed.__slots__:
    raise AssertionError("_BlankCompleted must have the slots of outcome.Completed")


def _completed(job_id: int, attempt: int, result_json: str | None) -> outcome.Completed:
    """`outcome.Completed(job_id, attempt, result_json)`, built without the frozen
    dataclass's `__init__`, whose `object.__setattr__` per field cost twice the rest (one is
    built for every job that completes): plain slot stores, then `Completed`'s class."""
    done = object.__new__(_BlankCompleted)
    done.job_id, done.attempt, done.result_json, done.batch_id = (
        job_id, attempt, result_json, None)
    done.__class__ = outcome.Completed  # type: ignore[assignment]
    return done  # type: ignore[return-value]


def _cancelled_from_outside() -> bool:
    """Whether the running task is being cancelled (rather than job code having raised
    `CancelledError` by itself)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _timed_out(job: model.Job, timeout: float | None, what: str) -> TimeoutError:
    return TimeoutError(f"job {job.name!r} ran past its timeout of {timeout or 0:g}s and "
                        f"{what}")


def _past_deadline(job: model.Job, retry_at: datetime | None) -> bool:
    until = job.meta.get("retry_until")
    return retry_at is not None and until is not None and retry_at > datetime.fromisoformat(until)
