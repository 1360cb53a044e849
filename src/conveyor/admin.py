"""The operator API shared by the CLI and the dashboard (`app.admin`).

Actions - retry, cancel, delete, edit, pause, enqueue, run a cron schedule now - act on one
job (by id) or on every job matching a filter, can report what they would touch first
(`dry_run`), and are recorded with their actor in the audit table. Views - keyset pages of
jobs, a job's surroundings, the audit trail, the overview, workers, metrics - only read.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from conveyor import changes, crontab, errors, listing, model, options, views
from conveyor import metrics as metering
from conveyor.backends import base

if TYPE_CHECKING:
    from conveyor.app import Conveyor

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
"""What the backends store for a rate key that never limited a job."""


@dataclasses.dataclass(frozen=True, slots=True)
class ActionResult:
    verb: str
    count: int
    """Jobs the action reached (or would reach, in a dry run)."""
    dry_run: bool
    requested: int = 0
    """Of `count`, running jobs that got a cancel request: their worker stops them at its
    next heartbeat; the others changed state at once."""


class Admin:
    """`app.admin`: operator actions and views; every method has an `a`-prefixed coroutine
    twin (the dashboard calls those)."""

    def __init__(self, app: Conveyor) -> None:
        self.app = app

    async def aapply(self, change: changes.Change, where: base.JobFilter, *,
                     actor: str = "api", dry_run: bool = False) -> ActionResult:
        """Apply `change` to the jobs `where` matches, narrowed to the states it may touch."""
        states = changes.eligible_states(change, tuple(where.states))
        narrowed = dataclasses.replace(where, states=states, match_none=not states)
        backend = await self.app.storage()
        if where.ids:
            await self._require_ids(backend, where.ids)
        if dry_run:
            running = dataclasses.replace(narrowed, states=[model.JobState.RUNNING]) \
                if model.JobState.RUNNING in states and isinstance(change, changes.CancelJobs) \
                else None
            return ActionResult(change.verb, await backend.count(narrowed), True,
                                await backend.count(running) if running else 0)
        done = await backend.change(narrowed, change, self.app.clock.now(), actor,
                                    self.app.settings.max_errors)
        return ActionResult(change.verb, done.count, False, done.requested)

    def apply(self, change: changes.Change, where: base.JobFilter, *, actor: str = "api",
              dry_run: bool = False) -> ActionResult:
        return self.app.blocking.run(
            lambda: self.aapply(change, where, actor=actor, dry_run=dry_run))

    async def aedit(self, job_id: int, *, priority: int | None = None, queue: str | None = None,
                    run_at: datetime | None = None, args: Sequence[Any] | None = None,
                    kwargs: dict[str, Any] | None = None, retry: bool = False,
                    actor: str = "api", dry_run: bool = False) -> ActionResult:
        """Edit one job that waits, failed or was cancelled; new arguments are checked
        against the job's signature. With `retry`, the job also runs again with fresh
        attempts (at `run_at`, or now), in the same transaction as the edit."""
        job = await self.app.aget(job_id)
        change = changes.EditJobs(priority=priority, queue=queue, run_at=run_at, retry=retry,
                                  **self._encode_arguments(job, args, kwargs))
        self._check_edit(job, change)
        return await self.aapply(change, base.JobFilter(ids=[job_id]), actor=actor,
                                 dry_run=dry_run)

    def edit(self, job_id: int, **fields: Any) -> ActionResult:
        return self.app.blocking.run(lambda: self.aedit(job_id, **fields))

    async def astats(self) -> Stats:
        backend = await self.app.storage()
        return Stats(counts=dict(await backend.counts()),
                     oldest_available=dict(await backend.oldest_available()),
                     now=self.app.clock.now())

    def stats(self) -> Stats:
        return self.app.blocking.run(self.astats)

    async def apause(self, *, queue: str | None = None, key: str | None = None,
                     paused: bool = True, actor: str = "api") -> list[str]:
        """Pause (or with `paused=False` resume) a queue or a rate key for every worker;
        effective at their next claim. A declared key ("wa:1") covers all its rates
        ("wa:1@80/s", "wa:1@250000/d"). Returns what was changed (not what already was
        paused, or resumed); each is recorded in the audit table."""
        if (queue is None) == (key is None):
            raise errors.ConfigurationError("pause needs exactly one of queue or key")
        backend = await self.app.storage()
        now = self.app.clock.now()
        if queue is not None:
            done = await backend.pause(queue=queue, paused=paused, actor=actor, now=now)
            return [queue] if done else []
        targets = await self._keys(backend, str(key)) or [str(key)]
        return [target for target in targets
                if await backend.pause(key=target, paused=paused, actor=actor, now=now)]

    def pause(self, **fields: Any) -> list[str]:
        return self.app.blocking.run(lambda: self.apause(**fields))

    async def aknown(self, *, queue: str | None = None, key: str | None = None) -> bool:
        """Whether a queue is declared by a job of this app, holds jobs or is paused; or a
        rate key has limited a job or been paused. Pausing an unknown one is likely a typo."""
        backend = await self.app.storage()
        if queue is not None:
            return queue in self.app.registry.queues() \
                or queue in (await backend.limits()).paused_queues \
                or await backend.count(base.JobFilter(queues=[queue])) > 0
        return bool(await self._keys(backend, str(key)))

    def known(self, **fields: Any) -> bool:
        return self.app.blocking.run(lambda: self.aknown(**fields))

    async def _keys(self, backend: base.Backend, key: str) -> list[str]:
        """The stored rate keys `key` names: itself, or each rate of a declared key."""
        return [k.key for k in (await backend.limits()).keys
                if key in (k.key, k.key.rsplit("@", 1)[0])]

    async def aprune(self, *, actor: str = "api") -> int:
        """Delete finished jobs past their retention now (the leader also does, every
        `Settings.prune_interval`); recorded in the audit table. Returns how many."""
        from conveyor.worker import leader

        backend = await self.app.storage()
        count = await leader.prune(self.app, backend)
        retention = {str(state): seconds for state, seconds in self.app.settings.retention}
        await backend.audit(actor, "prune", {"retention": retention}, count,
                            self.app.clock.now())
        return count

    def prune(self, *, actor: str = "api") -> int:
        return self.app.blocking.run(lambda: self.aprune(actor=actor))

    async def alimits(self) -> base.LimitsState:
        """Rate keys (a time that never held or has passed reads None) and paused queues."""
        stored = await (await self.app.storage()).limits()
        now = self.app.clock.now()

        def shown(when: datetime | None, after: datetime) -> datetime | None:
            return when if when is not None and when > after else None

        return base.LimitsState([dataclasses.replace(
            key, next_slot=shown(key.next_slot, _EPOCH),
            blocked_until=shown(key.blocked_until, now)) for key in stored.keys],
            stored.paused_queues)

    def limits(self) -> base.LimitsState:
        return self.app.blocking.run(self.alimits)

    async def aflow(self) -> base.LimitsState:
        """The former name of `alimits` ("limits" is the one word for rate keys and pauses)."""
        warnings.warn("admin.aflow() is now admin.alimits()", DeprecationWarning, stacklevel=2)
        return await self.alimits()

    def flow(self) -> base.LimitsState:
        """The former name of `limits`."""
        warnings.warn("admin.flow() is now admin.limits()", DeprecationWarning, stacklevel=2)
        return self.limits()

    # -- reading jobs and the audit trail ---------------------------------------------------

    async def apage(self, where: base.JobFilter | None = None, *,
                    order: listing.Order = "newest", cursor: str | None = None,
                    limit: int = 50) -> views.JobPage:
        """One page of the jobs `where` matches, newest (or oldest) first; pass a page's
        `next_cursor` or `prev_cursor` back to move. Keyset paging: as fast deep as first."""
        return await listing.page(await self.app.storage(), where or base.JobFilter(),
                                  order, cursor, limit)

    def page(self, where: base.JobFilter | None = None, **fields: Any) -> views.JobPage:
        return self.app.blocking.run(lambda: self.apage(where, **fields))

    async def acount(self, where: base.JobFilter | None = None, *,
                     cap: int | None = None) -> int:
        """How many jobs `where` matches; with `cap`, counting stops there (a preview that
        stays quick on a huge table: "more than 10,000")."""
        if cap is not None and (not isinstance(cap, int) or cap < 1):
            raise errors.ConveyorError(f"cap={cap!r} is invalid; use a number >= 1 or None")
        return await (await self.app.storage()).count(where or base.JobFilter(), cap)

    def count(self, where: base.JobFilter | None = None, *, cap: int | None = None) -> int:
        return self.app.blocking.run(lambda: self.acount(where, cap=cap))

    async def aiter_jobs(self, where: base.JobFilter | None = None,
                         order: listing.Order = "newest",
                         chunk: int = 1000) -> AsyncIterator[model.Job]:
        """Every job `where` matches, in order, read `chunk` at a time (exports)."""
        cursor: str | None = None
        while True:
            found = await self.apage(where, order=order, cursor=cursor, limit=chunk)
            for job in found.jobs:
                yield job
            if found.next_cursor is None:
                return
            cursor = found.next_cursor

    def iter_jobs(self, where: base.JobFilter | None = None, order: listing.Order = "newest",
                  chunk: int = 1000) -> Iterator[model.Job]:
        cursor: str | None = None
        while True:
            found = self.page(where, order=order, cursor=cursor, limit=chunk)
            yield from found.jobs
            if found.next_cursor is None:
                return
            cursor = found.next_cursor

    async def ajob_detail(self, job_id: int, *, limit: int = 100) -> views.JobDetail:
        """The job with the jobs it depends on, those depending on it, its batch and the
        audited actions that changed it (at most `limit` of each)."""
        job = await self.app.aget(job_id)
        backend = await self.app.storage()
        links = await backend.links(job_id, limit)
        batch = None if job.batch_id is None else await backend.get_batch(job.batch_id)
        audit = await backend.audit_log(before_id=None, limit=limit, job_id=job_id,
                                        actor=None)
        return views.JobDetail(job, await _jobs(backend, links.dependencies),
                               await _jobs(backend, links.dependants), batch, audit)

    def job_detail(self, job_id: int, *, limit: int = 100) -> views.JobDetail:
        return self.app.blocking.run(lambda: self.ajob_detail(job_id, limit=limit))

    async def aaudit(self, *, cursor: str | None = None, limit: int = 50,
                     job_id: int | None = None, actor: str | None = None) -> views.AuditPage:
        """Operator actions newest first, optionally only those that changed `job_id` or
        were done by `actor`; pass `next_cursor` back for older ones."""
        listing.check("newest", limit)
        at = listing.decode(cursor)
        if at is not None and not at.forward:
            raise errors.ConveyorError("the audit trail pages forward only (next_cursor)")
        entries = await (await self.app.storage()).audit_log(
            before_id=None if at is None else at.at, limit=limit + 1, job_id=job_id,
            actor=actor)
        more = len(entries) > limit
        entries = entries[:limit]
        return views.AuditPage(entries, listing.Cursor(True, entries[-1].id).encode()
                               if more else None)

    def audit(self, **fields: Any) -> views.AuditPage:
        return self.app.blocking.run(lambda: self.aaudit(**fields))

    async def arun_cron(self, name: str, *, actor: str = "api") -> model.Job:
        """Enqueue a stored cron schedule's job now, from the definition the leader fires,
        outside its slots (which stay as they are; a paused schedule runs too). Its `meta`
        says `manual: True` and who; audited and linked to the job."""
        backend, now = await self.app.storage(), self.app.clock.now()
        row = await crontab.manual_job(self.app.schedules, backend, name, now, actor)
        (job,) = await self.app.insert([row])
        await backend.audit(actor, "cron_run", {"schedule": name}, 1, now, job_ids=[job.id])
        return job

    def run_cron(self, name: str, *, actor: str = "api") -> model.Job:
        return self.app.blocking.run(lambda: self.arun_cron(name, actor=actor))

    async def aenqueue(self, name: str, args: Sequence[Any] = (),
                       kwargs: dict[str, Any] | None = None, *, actor: str = "api",
                       **overrides: Any) -> model.Job:
        """Enqueue a registered job by name for an operator (`conveyor enqueue`), checked
        against its signature and options (`queue`, `priority`, `delay`, `run_at`) as any
        enqueue is; audited and linked to the job unless it was a unique duplicate."""
        job_type = self.app.registry.get(name)
        job = await job_type.options(**overrides).aenqueue(*args, **(kwargs or {}))
        if not job.duplicate:
            await (await self.app.storage()).audit(
                actor, "enqueue", {"name": name, **{k: str(v) for k, v in overrides.items()}},
                1, self.app.clock.now(), job_ids=[job.id])
        return job

    def enqueue(self, name: str, args: Sequence[Any] = (), kwargs: dict[str, Any] | None = None,
                *, actor: str = "api", **overrides: Any) -> model.Job:
        return self.app.blocking.run(
            lambda: self.aenqueue(name, args, kwargs, actor=actor, **overrides))

    # -- queues and workers -----------------------------------------------------------------

    async def aworkers(self) -> list[views.WorkerInfo]:
        """Registered workers, oldest first; `alive` when they heartbeat within the lease
        timeout (a crashed worker stays listed, not alive, for `Settings.dead_worker_retention`)."""
        now = self.app.clock.now()
        since = now - timedelta(seconds=self.app.settings.lease_timeout)
        return await (await self.app.storage()).workers(since)

    def workers(self) -> list[views.WorkerInfo]:
        return self.app.blocking.run(self.aworkers)

    async def aoverview(self) -> views.Overview:
        """Per queue: jobs per state, how long the oldest available job has waited, paused;
        jobs not started yet per job name; how many workers are alive."""
        backend = await self.app.storage()
        stats = await self.astats()
        paused = set((await backend.limits()).paused_queues)
        queues = [views.QueueSummary(
            queue, {state: stats.counts.get((queue, state), 0) for state in model.JobState},
            stats.waiting_seconds(queue), queue in paused)
            for queue in sorted(set(stats.queues()) | paused)]
        alive = sum(worker.alive for worker in await self.aworkers())
        return views.Overview(queues, await backend.waiting_by_name(), alive, stats.now)

    def overview(self) -> views.Overview:
        return self.app.blocking.run(self.aoverview)

    # -- metrics ----------------------------------------------------------------------------

    async def ametrics(self, since: datetime, *, bucket: metering.Bucket = "minute",
                       queue: str | None = None, name: str | None = None,
                       ) -> list[metering.MetricPoint]:
        """Completed, failed (discarded), retried and cancelled attempts and their run time,
        per minute or hour from `since` to now, oldest first; every bucket is present (zeros
        where nothing ended). Only `queue` / job `name` when given."""
        now = self.app.clock.now()
        metering.series([], since, now, bucket)  # refuse a bad span before reading
        rows = await (await self.app.storage()).metric_minutes(
            metering.floor(since, bucket), now, queue, name)
        return metering.series(rows, since, now, bucket)

    def metrics(self, since: datetime, **fields: Any) -> list[metering.MetricPoint]:
        return self.app.blocking.run(lambda: self.ametrics(since, **fields))

    async def ametric_totals(self) -> list[metering.MetricTotal]:
        """Outcomes per (queue, job name) since the database was created."""
        return await (await self.app.storage()).metric_totals()

    def metric_totals(self) -> list[metering.MetricTotal]:
        return self.app.blocking.run(self.ametric_totals)

    # -- checks ---------------------------------------------------------------------------

    async def _require_ids(self, backend: base.Backend, ids: Sequence[int]) -> None:
        found = {job.id for job in await backend.query(base.JobFilter(ids=ids,
                                                                      limit=len(ids)))}
        missing = sorted(set(ids) - found)
        if missing:
            raise errors.JobNotFound(f"no job with id {', '.join(map(str, missing))}")

    def _encode_arguments(self, job: model.Job, args: Sequence[Any] | None,
                          kwargs: dict[str, Any] | None) -> dict[str, str | None]:
        if args is None and kwargs is None:
            return {"args_json": None, "kwargs_json": None}
        job_type = self.app.registry.get(job.name)
        new_args = list(job.args if args is None else args)
        new_kwargs = dict(job.kwargs if kwargs is None else kwargs)
        row = job_type.new_job(new_args, new_kwargs, job_type.defaults)
        return {"args_json": row.args_json, "kwargs_json": row.kwargs_json}

    def _check_edit(self, job: model.Job, change: changes.EditJobs) -> None:
        if job.state not in change.eligible:
            editable = ", ".join(sorted(state.value for state in change.eligible))
            what = "edited and retried" if change.retry else "edited"
            raise errors.ConveyorError(
                f"job {job.id} is {job.state.value}; only {editable} jobs can be {what}")
        if change.priority is not None or change.queue is not None or change.run_at is not None:
            options.build(job.name, priority=change.priority, queue=change.queue,
                          run_at=change.run_at)


async def _jobs(backend: base.Backend, ids: Sequence[int]) -> list[model.Job]:
    if not ids:
        return []
    return await backend.query(base.JobFilter(ids=ids, limit=len(ids)))


@dataclasses.dataclass(frozen=True, slots=True)
class Stats:
    counts: dict[tuple[str, model.JobState], int]
    oldest_available: dict[str, datetime]
    now: datetime

    def queues(self) -> list[str]:
        return sorted({queue for queue, _ in self.counts} | set(self.oldest_available))

    def waiting_seconds(self, queue: str) -> float:
        oldest = self.oldest_available.get(queue)
        return 0.0 if oldest is None else max(0.0, (self.now - oldest).total_seconds())

