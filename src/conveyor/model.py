"""The job record, its states and the only transitions allowed between them.

`TRANSITIONS` (what workers, the leader and producers do) and `OPERATOR_TRANSITIONS` (what
operator actions do) are the whole state machine. The SQL of each backend makes the moves;
`tests/contract/test_transitions.py` runs every state-changing operation of the backend seam
from every state on both backends and checks each move it sees against these tables, and
that every move the tables allow is made by some operation. The database itself checks only
that a state is one of these (a CHECK constraint), not the moves.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple

from conveyor import errors


class JobState(StrEnum):
    """Where a job is in its life. Final states never change again (except by an operator)."""

    PENDING = "pending"
    """Waits for other jobs (dependencies) or its batch; never claimed."""
    SCHEDULED = "scheduled"
    """`run_at` is in the future: delayed, snoozed or held back by a limit."""
    AVAILABLE = "available"
    """Due now; a worker may claim it."""
    RUNNING = "running"
    """Claimed by a worker, `attempt` was incremented, the worker heartbeats."""
    RETRYABLE = "retryable"
    """The last attempt failed; runs again at `run_at` (backoff)."""
    COMPLETED = "completed"
    """Finished successfully (final)."""
    DISCARDED = "discarded"
    """Failed its last attempt or cannot run at all (final)."""
    CANCELLED = "cancelled"
    """Stopped by code or by an operator (final)."""


S = JobState

FINAL_STATES: frozenset[JobState] = frozenset({S.COMPLETED, S.DISCARDED, S.CANCELLED})
"""States a job never leaves by itself; `finalized_at` is set exactly for these."""

WAITING_STATES: frozenset[JobState] = frozenset({S.PENDING, S.SCHEDULED, S.AVAILABLE, S.RETRYABLE})
"""Non-final states in which no worker holds the job."""

TRANSITIONS: Mapping[JobState, frozenset[JobState]] = {
    S.PENDING: frozenset({S.SCHEDULED, S.AVAILABLE, S.CANCELLED}),
    S.SCHEDULED: frozenset({S.AVAILABLE, S.CANCELLED}),
    S.AVAILABLE: frozenset({S.RUNNING, S.SCHEDULED, S.CANCELLED}),
    S.RUNNING: frozenset({S.COMPLETED, S.RETRYABLE, S.DISCARDED, S.CANCELLED,
                          S.SCHEDULED, S.AVAILABLE}),
    S.RETRYABLE: frozenset({S.AVAILABLE, S.CANCELLED}),
    S.COMPLETED: frozenset(),
    S.DISCARDED: frozenset(),
    S.CANCELLED: frozenset(),
}
"""Transitions the engine makes by itself. From `pending`: its dependencies resolved (due or
not yet) or one failed. From `running`: completed, failed with a retry (retryable), failed for
good (discarded), cancelled, snoozed (scheduled) and interrupted by a shutdown (available).
A waiting job may be cancelled when another job of its batch failed, and a producer's
duplicate enqueued with `on_conflict="replace"` may move an available job to a later time."""

OPERATOR_RETRY_FROM: frozenset[JobState] = frozenset(
    {S.SCHEDULED, S.RETRYABLE, S.COMPLETED, S.DISCARDED, S.CANCELLED}
)
"""States from which an operator may send a job back to `available` with fresh attempts."""

OPERATOR_TRANSITIONS: Mapping[JobState, frozenset[JobState]] = {
    S.PENDING: frozenset({S.CANCELLED}),
    S.SCHEDULED: frozenset({S.AVAILABLE, S.CANCELLED}),
    S.AVAILABLE: frozenset({S.SCHEDULED, S.CANCELLED}),
    S.RUNNING: frozenset(),
    S.RETRYABLE: frozenset({S.AVAILABLE, S.SCHEDULED, S.CANCELLED}),
    S.COMPLETED: frozenset({S.AVAILABLE}),
    S.DISCARDED: frozenset({S.AVAILABLE, S.SCHEDULED}),
    S.CANCELLED: frozenset({S.AVAILABLE, S.SCHEDULED}),
}
"""Transitions operator actions (`Backend.change`) make: retry (to `available`, or with an
edit to a later `run_at`, `scheduled`), cancel, and an edit of `run_at` (due or not). A
running job is never moved by an operator: a cancel asks its worker, which settles it.
Deleting removes rows and is no transition."""


def can_transition(source: JobState, target: JobState) -> bool:
    """Whether the engine may move a job from `source` to `target`."""
    return target in TRANSITIONS[source]


def sources_of(target: JobState) -> frozenset[JobState]:
    """Every state the engine may leave to reach `target`; used to build update guards."""
    return frozenset(source for source, targets in TRANSITIONS.items() if target in targets)


@dataclasses.dataclass(frozen=True, slots=True)
class JobError:
    """One failed attempt, as recorded on the job."""

    attempt: int
    at: datetime
    type: str
    message: str
    traceback: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"attempt": self.attempt, "at": self.at.isoformat(), "type": self.type,
                "message": self.message, "traceback": self.traceback}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> JobError:
        return cls(attempt=int(data.get("attempt", 0)), at=datetime.fromisoformat(data["at"]),
                   type=str(data.get("type", "")), message=str(data.get("message", "")),
                   traceback=str(data.get("traceback", "")))


@dataclasses.dataclass(frozen=True, slots=True)
class Job:
    """One row of the jobs table, as the application sees it.

    A job the backend read (`storedjob.stored_job`) keeps its JSON columns as the database
    returned them and decodes them on first read: the arguments (with `meta` and
    `malformed`) when the job runs, `errors` and `result` only when something reads them.
    Nothing else changes: attributes, equality, repr and `dataclasses` functions see
    decoded values."""

    id: int
    name: str
    queue: str
    state: JobState
    priority: int
    args: Sequence[Any]
    kwargs: Mapping[str, Any]
    attempt: int
    max_attempts: int
    run_at: datetime
    inserted_at: datetime
    attempted_at: datetime | None = None
    finalized_at: datetime | None = None
    attempted_by: str | None = None
    errors: Sequence[JobError] = ()
    result: Any = None
    meta: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    duplicate: bool = False
    malformed: str | None = None
    """Why the stored row could not be decoded; such a job is discarded, never run."""
    rate_keys: Sequence[str] = ()
    """Storage keys of the rate limits this job draws on ("<key>@<rate>")."""
    batch_id: int | None = None

    @property
    def depends_on(self) -> list[int]:
        """Ids of the jobs this one waited for (read their results with `app.results_of`)."""
        return [int(i) for i in self.meta.get("depends_on", ())]

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES


@dataclasses.dataclass(frozen=True, slots=True)
class NewJob:
    """A job about to be inserted: arguments already encoded and checked."""

    name: str
    queue: str
    priority: int
    args_json: str
    kwargs_json: str
    max_attempts: int
    run_at: datetime
    meta_json: str = "{}"
    unique_key: str | None = None
    unique_states: int = 0
    """Bit mask (see `unique.STATE_BITS`) of states in which `unique_key` must be unique."""
    replace: bool = False
    """On a duplicate, update the existing waiting job's arguments, run_at and priority."""
    rate_keys_json: str | None = None
    """JSON array of [key, seconds per slot] for the rate limits this job draws on."""
    rate_key: str | None = None
    concurrency_key: str | None = None
    concurrency_limit: int | None = None
    cost: int = 1
    batch_id: int | None = None
    depends_on: tuple[int, ...] = ()
    """Ids of existing jobs that must complete first; the job waits in `pending`."""
    depends_on_rows: tuple[int, ...] = ()
    """Positions of earlier rows of the same insert to wait for (chains)."""
    run_on_dependency_failure: bool = False
    """Run anyway when a dependency is discarded or cancelled (default: cancel this job)."""

    def __post_init__(self) -> None:
        """PostgreSQL cannot store NUL in text, so neither backend takes it (the JSON fields
        are checked when they are encoded)."""
        for field, value in (("name", self.name), ("queue", self.queue),
                             ("unique key", self.unique_key), ("rate key", self.rate_key),
                             ("concurrency key", self.concurrency_key)):
            if value is not None and "\x00" in value:
                raise errors.Unserializable(
                    f"job {self.name!r}: its {field} {value!r} contains the NUL character "
                    "(\\x00), which PostgreSQL cannot store")

    @property
    def has_dependencies(self) -> bool:
        return bool(self.depends_on or self.depends_on_rows)

    def initial_state(self, now: datetime) -> JobState:
        if self.has_dependencies:
            return S.PENDING
        return S.SCHEDULED if self.run_at > now else S.AVAILABLE


def slot_twin(cls: type) -> Any:
    """A plain class with `cls`'s slots in `cls`'s order, so the same memory layout: an
    instance filled by plain attribute stores, then given `cls` as its class, is a `cls`
    built without `__init__`. A frozen dataclass writes each field through a setter call;
    a plain store costs a seventh of that."""
    return type(f"_{cls.__name__}Blank", (), {"__slots__": cls.__dict__["__slots__"]})


_NewBlank = slot_twin(NewJob)
"""A `NewJob` being filled by `rows_like` (a setter call a field cost 2 us a row, a tenth
of a grouped enqueue)."""


def rows_like(template: NewJob) -> Callable[[str, str, datetime], NewJob]:
    """Rows that differ from `template` only in their arguments and run time, built without
    `__init__`: the template's fields were checked once, when it was built, and a call's
    arguments are checked when they are encoded. A frozen dataclass's `__init__` (with the
    NUL checks) cost a tenth of a single enqueue."""
    name, queue, priority, max_attempts = (template.name, template.queue, template.priority,
                                           template.max_attempts)
    tail = tuple(getattr(template, field) for field in _NewBlank.__slots__[7:])

    def row(args_json: str, kwargs_json: str, run_at: datetime) -> NewJob:
        job = object.__new__(_NewBlank)
        job.name, job.queue, job.priority, job.max_attempts = name, queue, priority, max_attempts
        job.args_json, job.kwargs_json, job.run_at = args_json, kwargs_json, run_at
        (job.meta_json, job.unique_key, job.unique_states, job.replace, job.rate_keys_json,
         job.rate_key, job.concurrency_key, job.concurrency_limit, job.cost, job.batch_id,
         job.depends_on, job.depends_on_rows, job.run_on_dependency_failure) = tail
        job.__class__ = NewJob
        return job  # type: ignore[no-any-return]  # cast() would be a call a row

    return row


class Inserted(NamedTuple):
    """What the backend reports for each inserted job, in input order. For a duplicate of a
    unique job, the existing job's id and state, with `duplicate` set. A named tuple: a
    bulk insert makes one for each of its rows, and a frozen dataclass cost 3x as much
    (0.6 us a row, a tenth of a bulk enqueue)."""

    id: int
    state: JobState
    duplicate: bool = False
    existing: Job | None = None
    """A duplicate's existing job, where the backend read it along with the insert (else the
    caller reads it by id)."""
