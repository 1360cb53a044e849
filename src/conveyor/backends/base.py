"""The backend seam: what storage must do, named after what happens to jobs.

Backends only persist. Policy (backoff, retry decisions, limits math) lives above, in Python,
so SQLite and PostgreSQL behave the same; `tests/contract/` runs one suite against both.
Every method is one transaction. `now` is always passed in: time is a parameter.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from conveyor import batches, changes, metrics, model, outcome, views
from conveyor.filters import MAX_ID as MAX_ID  # the job filter is public; re-exported here
from conveyor.filters import MAX_LIMIT as MAX_LIMIT
from conveyor.filters import JobFilter as JobFilter
from conveyor.filters import check_id as check_id
from conveyor.filters import check_limit as check_limit


@dataclasses.dataclass(frozen=True, slots=True)
class KeyInfo:
    """A rate-limit key as operators see it."""

    key: str
    next_slot: datetime | None
    """When the key's rate next lets a job start (None: it has not limited any job yet)."""
    blocked_until: datetime | None
    """No job of this key starts before then (None: it is not blocked now). Backends report
    the stored time; `app.admin.limits()` clears it once it has passed."""
    paused: bool
    waiting: int
    """Available jobs waiting for this key."""


@dataclasses.dataclass(frozen=True, slots=True)
class LimitsState:
    """Rate-limit keys with their state, and the paused queues."""

    keys: list[KeyInfo]
    paused_queues: list[str]


@dataclasses.dataclass(frozen=True, slots=True)
class BatchSpec:
    """A batch about to be opened."""

    name: str
    allow_failures: bool
    callbacks_json: str


@dataclasses.dataclass(frozen=True, slots=True)
class ScheduleState:
    """A cron schedule as stored: the last slot fired, whether it is paused, and its whole
    definition (`cron.Schedule.definition`; None in rows stored by older versions)."""

    name: str
    expression: str
    timezone: str
    last_slot: datetime
    paused: bool
    definition: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Changed:
    """What `change` did: how many jobs it reached, of which `requested` were running and
    got a cancel request (their worker stops them) rather than a new state."""

    count: int
    requested: int = 0


@dataclasses.dataclass(frozen=True, slots=True)
class WorkerSpec:
    """What a worker tells about itself when it registers (operators see it)."""

    host: str
    pid: int
    concurrency: int


@dataclasses.dataclass(frozen=True, slots=True)
class Settled:
    """What `finish` did: ids whose outcome was written, and ids whose lease was lost."""

    written: frozenset[int]
    lost: frozenset[int]


class Backend(Protocol):
    """Persistence for jobs, workers and leases. Implementations: sqlite, postgres."""

    url: str

    async def migrate(self) -> list[int]:
        """Apply pending numbered migrations; return the versions applied. Creates the
        database (a SQLite file and its directory) when it does not exist."""
        ...

    async def check_schema(self) -> None:
        """Raise `NotMigrated` when the database or any migration this version ships is
        missing; create and change nothing."""
        ...

    async def close(self) -> None: ...

    async def insert(self, jobs: Sequence[model.NewJob], now: datetime) -> list[model.Inserted]:
        """Insert all jobs atomically (all or none); results are in input order."""
        ...

    def insert_on(self, connection: Any, jobs: Sequence[model.NewJob], now: datetime, *,
                  check_schema: bool = True) -> list[model.Inserted]:
        """Transactional enqueue: insert on the caller's own driver connection (sqlite3,
        psycopg), inside its transaction, as `insert` does; nothing is committed here. With
        `check_schema`, a database without this version's tables is refused (`NotMigrated`)
        by reads alone, before anything is written. A connection of another kind or to
        another database: `ConfigurationError`. (`transactional` unwraps SQLAlchemy and
        Django connections first.)"""
        ...

    async def ainsert_on(self, connection: Any, jobs: Sequence[model.NewJob], now: datetime,
                         *, check_schema: bool = True) -> list[model.Inserted]:
        """The same on an async connection (psycopg.AsyncConnection); blocking ones work too."""
        ...

    async def claim(self, queues: Sequence[str], limit: int, worker: str, now: datetime,
                    names: Sequence[str] | None = None) -> list[model.Job]:
        """Move up to `limit` available jobs to `running`, serving `queues` in the given order;
        with `names`, only jobs of those names."""
        ...

    async def waiting_queues(self, names: Sequence[str], served: Sequence[str]) -> list[str]:
        """Queues other than `served` where an available job of one of `names` waits (among
        each queue's 1000 oldest). Cheap: one index probe per queue, whatever the backlog."""
        ...

    async def finish(self, outcomes: Sequence[outcome.Outcome], now: datetime,
                     max_errors: int) -> Settled:
        """Settle attempts with compare-and-set on (state='running', attempt), and in the
        same transaction release or cancel dependants of jobs that ended and settle their
        batches (callbacks included). Batches named by the outcomes (`batch_id`) are locked
        first, in id order, as operator actions do: the two never deadlock."""
        ...

    async def repair(self, now: datetime, max_errors: int) -> int:
        """Resolve dependants of ended jobs that were left unresolved (a worker that died
        between settling a job and releasing its dependants); return how many jobs."""
        ...

    async def heartbeat(self, worker: str, queues: Sequence[str], now: datetime,
                        about: WorkerSpec | None = None, *,
                        database_clock: bool = False) -> list[int]:
        """Record that `worker` is alive (registers it on first call, with `about`); return
        the ids of its running jobs that an operator asked to cancel. With
        `database_clock`, its start and heartbeat are stamped by the database's clock
        instead of `now` (SQLite's is this host's), so `rescue` judges every host's workers
        on one clock, however far theirs are off."""
        ...

    async def workers(self, alive_since: datetime) -> list[views.WorkerInfo]:
        """Registered workers with their running jobs; alive: heartbeat since `alive_since`."""
        ...

    async def prune_workers(self, silent_since: datetime) -> int:
        """Forget workers that have not heartbeat since then (they crashed)."""
        ...

    async def retire(self, worker: str) -> None:
        """Forget a worker that stopped cleanly; its leftover running jobs become rescuable."""
        ...

    async def running_jobs(self, worker: str) -> list[model.Job]:
        """The jobs `worker` is running, as storage sees it (the worker checks its books)."""
        ...

    async def wait(self, queues: Sequence[str], timeout: float) -> bool:
        """Sleep until jobs may be available in `queues` or `timeout` passes; True if woken."""
        ...

    async def lease(self, name: str, holder: str, ttl: float, now: datetime,
                    patience: float = 0.0) -> bool:
        """Take or renew the named lease for `ttl` seconds; False if someone else holds it.
        Another holder's lease is taken over only once it has been expired for `patience`
        seconds."""
        ...

    async def release(self, name: str, holder: str) -> None:
        """Give the lease up early (clean shutdown) so another process takes over at once."""
        ...

    async def stage(self, now: datetime, limit: int) -> int:
        """Make due scheduled/retryable jobs available; return how many moved."""
        ...

    async def rescue(self, stale_before: datetime, now: datetime, error_json: str,
                     max_errors: int, witness: str | None = None,
                     witness_since: datetime | None = None, *,
                     database_clock: bool = False) -> int:
        """Running jobs of workers silent since `stale_before`: retry now, or discard when
        out of attempts; return how many. With a `witness` (the rescuing worker), nothing is
        rescued unless the witness has been up and has heartbeat since `witness_since`: if
        it could not, the database was stalled for everyone and silence proves nothing.
        With `database_clock` (heartbeats stamped by the database, see `heartbeat`), both
        times are taken as that long before the database's now rather than before `now`."""
        ...

    async def get(self, job_id: int) -> model.Job | None: ...

    async def query(self, where: JobFilter) -> list[model.Job]:
        """Jobs matching `where`, by ascending id (descending with `newest_first`), at most
        `where.limit`. A filter on one state, queue or name reads that column's index in id
        order, so a page costs about `limit` rows at any depth."""
        ...

    async def scan_bound(self, after_id: int | None, before_id: int | None, newest: bool,
                         rows: int) -> int | None:
        """The id of the `rows`-th job between the two ids, read in ascending order
        (descending with `newest`); None when fewer jobs are there. Bounds a scan."""
        ...

    async def counts(self) -> Mapping[tuple[str, model.JobState], int]:
        """Number of jobs per (queue, state)."""
        ...

    async def record_metrics(self, rows: Sequence[metrics.MetricRow]) -> None:
        """Add a worker's tallies to the stored minutes and to the totals (one transaction)."""
        ...

    async def metric_minutes(self, since: datetime, until: datetime, queue: str | None,
                      name: str | None) -> list[metrics.MetricRow]:
        """Stored minutes in [since, until], summed over queues and names (or only `queue`,
        `name`), oldest first; minutes with nothing stored are absent."""
        ...

    async def metric_totals(self) -> list[metrics.MetricTotal]: ...

    async def prune_metrics(self, before: datetime) -> int:
        """Delete the minutes before `before`."""
        ...

    async def waiting_by_name(self) -> Mapping[str, Mapping[model.JobState, int]]:
        """Jobs not started yet (pending, scheduled, available, retryable), per name and
        state."""
        ...

    async def oldest_available(self) -> Mapping[str, datetime]:
        """Per queue, the `run_at` of the job that has waited longest in `available`."""
        ...

    async def count(self, where: JobFilter, cap: int | None = None) -> int:
        """How many jobs match `where` (its limit ignored): what a change would touch. With
        a `cap`, counting stops there (the answer is at most `cap`)."""
        ...

    async def links(self, job_id: int, limit: int) -> views.Links:
        """Ids of the jobs `job_id` depends on and of those depending on it (`limit` each)."""
        ...

    async def audit_log(self, *, before_id: int | None, limit: int, job_id: int | None,
                        actor: str | None) -> list[views.AuditEntry]:
        """Audit entries newest first, older than `before_id`; only those that changed
        `job_id`, or those by `actor`, when given."""
        ...

    async def change(self, where: JobFilter, change: changes.Change, now: datetime,
                     actor: str, max_errors: int) -> Changed:
        """Apply an operator action to every job matching `where` (limit ignored; already
        narrowed to the states the change may touch) and record it in the audit table, in
        one transaction. Jobs it ends release or cancel their dependants and settle their
        batches there too (keeping at most `max_errors` errors on each job it cancels); a
        retry reopens finished batches. Batch rows are locked before job rows."""
        ...

    async def prune(self, state: model.JobState, finalized_before: datetime,
                    limit: int) -> int:
        """Delete up to `limit` jobs in final `state` finalized before the cutoff."""
        ...

    async def block_keys(self, keys: Sequence[str], until: datetime) -> None:
        """No job of these rate keys starts before `until` (an API said to back off)."""
        ...

    async def pause(self, *, queue: str | None = None, key: str | None = None,
                    paused: bool, actor: str, now: datetime) -> bool:
        """Pause or resume a queue or a rate key, for every worker, and record it in the
        audit table; False when it already was (paused, or not paused)."""
        ...

    async def audit(self, actor: str, action: str, target: Mapping[str, Any], count: int,
                    now: datetime, job_ids: Sequence[int] = ()) -> None:
        """Record an operator action that is not one `change` (e.g. a prune run in many
        small transactions): `target` says what it acted on, `count` how many rows; linked
        to `job_ids`, the jobs it made (a job's page lists it)."""
        ...

    async def limits(self) -> LimitsState:
        """Rate keys with their state and waiting jobs, and the paused queues."""
        ...

    async def next_unblock(self, now: datetime) -> datetime | None:
        """When the earliest unpaused rate key with available jobs frees up, possibly already
        past (None: no such key)."""
        ...

    async def insert_batch(self, batch: int | BatchSpec, jobs: Sequence[model.NewJob],
                           seal: bool, now: datetime,
                           max_errors: int) -> tuple[int, list[model.Inserted]]:
        """Open a batch (`BatchSpec`) or add to an open one (its id), insert `jobs` into it
        and, with `seal`, mark it complete so it can finish - all in one transaction."""
        ...

    async def get_batch(self, batch_id: int) -> batches.Batch | None: ...

    async def list_batches(self, limit: int) -> list[batches.Batch]:
        """The newest batches first."""
        ...

    async def cancel_batch(self, batch_id: int, now: datetime, max_errors: int) -> bool:
        """Mark the batch cancelled (it takes no more jobs); False if there is no such batch.
        Its jobs are cancelled by the caller with `change`."""
        ...

    async def prune_batches(self, finished_before: datetime, limit: int) -> int: ...

    async def sync_schedules(self, schedules: Sequence[tuple[str, str, str, str]],
                             now: datetime) -> None:
        """Store (name, expression, timezone, definition) of schedules not stored yet; new
        ones start at `now`. A stored definition is never replaced (one from an older
        version without a definition is)."""
        ...

    async def schedules(self) -> list[ScheduleState]: ...

    async def fire_schedule(self, name: str, seen: datetime, slot: datetime,
                            jobs: Sequence[model.NewJob], now: datetime) -> bool:
        """Move the schedule from `seen` to `slot` and insert `jobs`, in one transaction -
        only if no other scheduler moved it first (and it is not paused)."""
        ...

    async def pause_schedule(self, name: str, paused: bool, now: datetime,
                             actor: str = "api") -> bool:
        """Pause or resume, recorded in the audit table; resuming skips the slots missed
        while paused. False: no such schedule (nothing recorded)."""
        ...

    async def redefine_schedule(self, name: str, seen: str, schedule: tuple[str, str, str],
                                now: datetime, actor: str) -> bool:
        """Replace a stored definition still equal to `seen` with `schedule` (expression,
        time zone, definition), keeping its last slot and pause, recorded in the audit
        table. False: it changed meanwhile or is gone (nothing written)."""
        ...

    async def delete_schedule(self, name: str, now: datetime, actor: str) -> bool:
        """Forget a stored schedule, recorded in the audit table. False: no such schedule
        (nothing recorded)."""
        ...

