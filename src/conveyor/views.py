"""What operators look at, as values: job pages, a job's surroundings, the audit trail.

The dashboard and the CLI read these through `app.admin`; backends build the rows they hold.
Frozen values, no behaviour beyond small conveniences.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from conveyor import batches, model


@dataclasses.dataclass(frozen=True, slots=True)
class JobPage:
    """One page of a job listing. Cursors are opaque strings for `admin.apage(cursor=...)`;
    None when there is nothing further that way. A page searched by argument text may hold
    fewer than `limit` jobs (even none) and still have a `next_cursor`: the scan stopped at
    its budget (`listing.SCAN_ROWS` jobs) and goes on from there."""

    jobs: list[model.Job]
    next_cursor: str | None
    prev_cursor: str | None


@dataclasses.dataclass(frozen=True, slots=True)
class AuditEntry:
    """One operator action: who did what, to which jobs (the filter), how many changed."""

    id: int
    at: datetime
    actor: str
    action: str
    filter: Mapping[str, Any]
    count: int


@dataclasses.dataclass(frozen=True, slots=True)
class AuditPage:
    """Audit entries, newest first; `next_cursor` reads on into older ones."""

    entries: list[AuditEntry]
    next_cursor: str | None


@dataclasses.dataclass(frozen=True, slots=True)
class JobDetail:
    """A job with its surroundings: what it waits for, what waits for it, its batch, and
    the audited actions that changed it (newest first)."""

    job: model.Job
    dependencies: list[model.Job]
    dependants: list[model.Job]
    batch: batches.Batch | None
    audit: list[AuditEntry]


@dataclasses.dataclass(frozen=True, slots=True)
class Links:
    """Ids of the jobs one job depends on, and of the jobs that depend on it."""

    dependencies: Sequence[int]
    dependants: Sequence[int]


@dataclasses.dataclass(frozen=True, slots=True)
class WorkerInfo:
    """A registered worker process. `alive`: it heartbeat within the lease timeout."""

    id: str
    host: str | None
    pid: int | None
    queues: Sequence[str]
    """The queues it serves in order; empty: every queue with due jobs."""
    concurrency: int | None
    started_at: datetime
    heartbeat_at: datetime
    running: int
    """Jobs it runs now."""
    alive: bool


@dataclasses.dataclass(frozen=True, slots=True)
class QueueSummary:
    queue: str
    counts: Mapping[model.JobState, int]
    """Jobs per state (every state present, zeros included)."""
    oldest_waiting_s: float
    """How long the longest-waiting available job has been due (0: none waits)."""
    paused: bool


@dataclasses.dataclass(frozen=True, slots=True)
class Overview:
    queues: list[QueueSummary]
    waiting_by_name: Mapping[str, Mapping[model.JobState, int]]
    """Jobs not started yet (pending, scheduled, available, retryable) per job name."""
    workers_alive: int
    now: datetime
