"""Batches: many jobs tracked as one, with progress and callbacks (Laravel's `Bus::batch`).

Counters live in the database (kept by triggers on the jobs table, whatever moves a job), so
progress is right under any number of workers. When a job of a batch ends, the transaction
that ends it also decides the batch's fate here (`decide`): callbacks are ordinary jobs,
enqueued once each - `on_failure` at the first discarded job, `on_success` when every job
completed, `on_complete` when every job has ended - and, unless failures are allowed, the
first failure cancels the jobs that have not started.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from conveyor import encoding, model

ON_SUCCESS, ON_FAILURE, ON_COMPLETE = 1, 2, 4
CALLBACK_BITS = {"on_success": ON_SUCCESS, "on_failure": ON_FAILURE, "on_complete": ON_COMPLETE}


@dataclasses.dataclass(frozen=True, slots=True)
class Counts:
    """A batch row as the decision needs it."""

    total: int
    completed: int
    discarded: int
    cancelled: int
    fired: int
    sealed: bool
    allow_failures: bool
    cancelled_at: Any
    finished_at: Any

    @classmethod
    def of(cls, row: Any) -> Counts:
        """From a batch row (a mapping, or a `sqlite3.Row`)."""
        return cls(int(row["total"]), int(row["completed"]), int(row["discarded"]),
                   int(row["cancelled"]), int(row["fired"]), bool(row["sealed"]),
                   bool(row["allow_failures"]), row["cancelled_at"], row["finished_at"])

    @property
    def ended(self) -> int:
        return self.completed + self.discarded + self.cancelled


@dataclasses.dataclass(frozen=True, slots=True)
class Decision:
    fire: int
    """Callback bits to enqueue now (never one already fired)."""
    finish: bool
    """Every job has ended: stamp `finished_at`."""
    cancel_rest: bool
    """A job failed and failures are not allowed: cancel the jobs that have not started."""

    @property
    def changes(self) -> bool:
        return bool(self.fire or self.finish or self.cancel_rest)


def decide(counts: Counts) -> Decision:
    """What a batch's counters call for. Only sealed batches (every job added) can end."""
    due = 0
    if counts.discarded > 0:
        due |= ON_FAILURE
    if counts.sealed and counts.completed >= counts.total:
        due |= ON_SUCCESS
    ended = counts.sealed and counts.ended >= counts.total
    if ended:
        due |= ON_COMPLETE
    return Decision(
        fire=due & ~counts.fired,
        finish=ended and counts.finished_at is None,
        cancel_rest=counts.discarded > 0 and not counts.allow_failures
        and counts.cancelled_at is None and not ended,
    )


# -- callbacks, stored on the batch row as encoded job rows ---------------------------------


def encode_callbacks(callbacks: Mapping[str, model.NewJob | None]) -> str:
    """The batch's callbacks as JSON: [{"when": bit, "job": {...}}, ...]."""
    entries = [{"when": CALLBACK_BITS[when], "job": _job_json(job)}
               for when, job in callbacks.items() if job is not None]
    return encoding.dumps(entries, what="batch callbacks")


def callback_jobs(stored: str | Sequence[Any], bits: int, batch_id: int,
                  now: datetime) -> list[model.NewJob]:
    """The callback jobs to enqueue for `bits`, due now, knowing their batch (`meta`)."""
    entries: Sequence[Any] = encoding.loads(stored) if isinstance(stored, str) else stored
    jobs = []
    for entry in entries:
        if int(entry["when"]) & bits:
            fields = dict(entry["job"])
            meta = {**encoding.loads(fields["meta_json"]), "batch_id": batch_id}
            fields.update(meta_json=encoding.dumps(meta, what="callback meta"), run_at=now)
            jobs.append(model.NewJob(**fields))
    return jobs


_STORED_FIELDS = ("name", "queue", "priority", "args_json", "kwargs_json", "max_attempts",
                  "meta_json", "rate_keys_json", "rate_key", "concurrency_key",
                  "concurrency_limit", "cost")


def _job_json(job: model.NewJob) -> dict[str, Any]:
    return {name: getattr(job, name) for name in _STORED_FIELDS}


# -- what users read ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Progress:
    total: int
    pending: int
    """Jobs that have not ended yet (waiting or running)."""
    completed: int
    failed: int
    """Jobs discarded after their last attempt."""
    cancelled: int
    percent: float
    """Share of jobs that have ended, 0-100."""
    finished_at: datetime | None


@dataclasses.dataclass(frozen=True, slots=True)
class Batch:
    id: int
    name: str
    progress: Progress
    allow_failures: bool
    sealed: bool
    """Every job has been added (a batch built from a stream is sealed at its end)."""
    created_at: datetime
    cancelled_at: datetime | None
    callbacks_fired: tuple[str, ...]

    @property
    def finished(self) -> bool:
        return self.progress.finished_at is not None

    @property
    def cancelled(self) -> bool:
        return self.cancelled_at is not None


def batch_of(row: Any, created_at: datetime, cancelled_at: datetime | None,
             finished_at: datetime | None) -> Batch:
    """Build a `Batch` from a row whose timestamps the backend has already converted."""
    counts = Counts.of(row)
    ended = counts.ended
    return Batch(
        id=int(row["id"]), name=str(row["name"]),
        progress=Progress(
            total=counts.total, pending=max(0, counts.total - ended),
            completed=counts.completed, failed=counts.discarded, cancelled=counts.cancelled,
            percent=round(100.0 * ended / counts.total, 2) if counts.total else 100.0,
            finished_at=finished_at),
        allow_failures=counts.allow_failures, sealed=counts.sealed, created_at=created_at,
        cancelled_at=cancelled_at,
        callbacks_fired=tuple(name for name, bit in CALLBACK_BITS.items()
                              if counts.fired & bit))
