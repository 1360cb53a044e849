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

    A job the backend read (`Job.stored`) keeps its JSON columns as the database returned
    them and decodes them on first read: the arguments (with `meta` and `malformed`) when
    the job runs, `errors` and `result` only when something reads them. Nothing else
    changes: attributes, equality, repr and `dataclasses` functions see decoded values."""

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


class _Undecoded:
    """JSON columns of a stored job not decoded yet; every field they fill holds this object
    until the first read of any of them decodes them all."""

    __slots__ = ("decode", "fill", "raw")

    def __init__(self, decode: Callable[[Any], Any], raw: tuple[Any, ...],
                 fill: Callable[[_Undecoded, Job], None]) -> None:
        self.decode, self.raw, self.fill = decode, raw, fill


def _decode_arguments(pending: _Undecoded, job: Job) -> None:
    """args, kwargs and meta; a row whose JSON cannot be decoded or has the wrong shape is
    `malformed` (and has no arguments)."""
    decode, (args, kwargs, meta) = pending.decode, pending.raw
    malformed = None
    try:
        args, kwargs, meta = decode(args), decode(kwargs), decode(meta)
        if not isinstance(args, list) or not isinstance(kwargs, dict) \
                or not isinstance(meta, dict):
            raise errors.MalformedJob("args must be a JSON array, kwargs and meta JSON objects")
    except (errors.MalformedJob, ValueError) as exc:
        args, kwargs, meta, malformed = [], {}, {}, f"undecodable arguments: {exc}"
    _SET_ARGS(job, args)
    _SET_KWARGS(job, kwargs)
    _SET_META(job, meta)
    _SET_MALFORMED(job, malformed)


def _decode_history(pending: _Undecoded, job: Job) -> None:
    """errors and result; what cannot be decoded reads as none."""
    decode, (errs, result) = pending.decode, pending.raw
    try:
        errs = tuple(JobError.from_json(e) for e in decode(errs) or ())
    except (errors.MalformedJob, AttributeError, KeyError, TypeError, ValueError):
        errs = ()
    try:
        result = decode(result)
    except (errors.MalformedJob, TypeError, ValueError):
        result = None
    _SET_ERRORS(job, errs)
    _SET_RESULT(job, result)


class _DecodedOnRead:
    """A field's slot, wrapped: a read that finds the field undecoded decodes it first."""

    __slots__ = ("read", "slot")

    def __init__(self, slot: Any) -> None:
        self.slot = slot
        self.read = slot.__get__
        """The slot's getter, bound once: binding it on each read built a method-wrapper."""

    def __get__(self, job: Job | None, owner: type | None = None) -> Any:
        if job is None:
            return self
        value = self.read(job)
        if value.__class__ is _Undecoded:
            value.fill(value, job)
            value = self.read(job)
        return value

    def __set__(self, job: Job, value: Any) -> None:
        self.slot.__set__(job, value)

    def __delete__(self, job: Job) -> None:
        self.slot.__delete__(job)


_SLOTS: dict[str, Any] = {field.name: Job.__dict__[field.name]
                         for field in dataclasses.fields(Job)}
"""Each field's slot (its member descriptor): a lazy field's is written when it is decoded."""
for _name in ("args", "kwargs", "meta", "malformed", "errors", "result"):
    setattr(Job, _name, _DecodedOnRead(_SLOTS[_name]))
STORED_COLUMNS = ("id", "name", "queue", "state", "priority", "args", "kwargs", "meta",
                  "attempt", "max_attempts", "run_at", "inserted_at", "attempted_at",
                  "finalized_at", "attempted_by", "errors", "result", "rate_keys", "batch_id")
"""The columns `stored_job` takes, in its order."""
if {*STORED_COLUMNS, "malformed", "duplicate"} != set(_SLOTS):  # a new field: fill it there
    raise AssertionError("stored_job must fill every field of Job")
_SET_ARGS, _SET_KWARGS, _SET_META, _SET_MALFORMED, _SET_ERRORS, _SET_RESULT = (
    _SLOTS[name].__set__ for name in ("args", "kwargs", "meta", "malformed", "errors", "result"))


_GET_ARGS, _GET_KWARGS, _GET_META, _GET_MALFORMED = (
    _SLOTS[name].__get__ for name in ("args", "kwargs", "meta", "malformed"))


def arguments(job: Job) -> tuple[Sequence[Any], Mapping[str, Any], Mapping[str, Any], str | None]:
    """`job`'s args, kwargs, meta and malformed, decoded first if they were not yet: what
    running a job reads, read in one call rather than four reads through the decoding
    descriptor (a Python call each)."""
    args = _GET_ARGS(job)
    if args.__class__ is _Undecoded:
        args.fill(args, job)
        args = _GET_ARGS(job)
    return args, _GET_KWARGS(job), _GET_META(job), _GET_MALFORMED(job)


class _Blank:
    """A `Job` being filled: the same slots in the same order (so the same memory layout),
    without `Job`'s frozen `__setattr__` and its decoding descriptors, so each field is
    written by a plain attribute store; `stored_job` then makes it a `Job`."""

    __slots__ = (  # noqa: RUF023 - Job's order, which is the layout
        "id", "name", "queue", "state", "priority", "args", "kwargs", "attempt", "max_attempts",
        "run_at", "inserted_at", "attempted_at", "finalized_at", "attempted_by", "errors",
        "result", "meta", "duplicate", "malformed", "rate_keys", "batch_id")
    id: Any
    name: Any
    queue: Any
    state: Any
    priority: Any
    args: Any
    kwargs: Any
    attempt: Any
    max_attempts: Any
    run_at: Any
    inserted_at: Any
    attempted_at: Any
    finalized_at: Any
    attempted_by: Any
    errors: Any
    result: Any
    meta: Any
    duplicate: Any
    malformed: Any
    rate_keys: Any
    batch_id: Any


if _Blank.__slots__ != Job.__slots__:  # a new field: add it to `_Blank` and `stored_job`
    raise AssertionError("_Blank must have the slots of Job, in their order")


def stored_job(decode: Callable[[Any], Any], values: Sequence[Any]) -> Job:
    """A job from a stored row's `values` (in `STORED_COLUMNS` order), built without the
    dataclass `__init__` (a frozen one writes each field through `object.__setattr__`, the
    dearest part of reading a claimed row): filled as a `_Blank`, whose plain slot stores
    cost a seventh of calling each slot's setter, then given its class. Its JSON columns
    are decoded when first read: `decode` turns one into its value, raising `MalformedJob`
    or `ValueError`."""
    job = object.__new__(_Blank)
    (job.id, job.name, job.queue, job.state, job.priority, args, kwargs, meta, job.attempt,
     job.max_attempts, job.run_at, job.inserted_at, job.attempted_at, job.finalized_at,
     job.attempted_by, errs, result, job.rate_keys, job.batch_id) = values
    job.args = job.kwargs = job.meta = job.malformed = _Undecoded(
        decode, (args, kwargs, meta), _decode_arguments)
    job.errors = job.result = _Undecoded(decode, (errs, result), _decode_history)
    job.duplicate = False
    job.__class__ = Job  # type: ignore[assignment]
    return job  # type: ignore[return-value]


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


_NEW_SETTERS = tuple(NewJob.__dict__[field.name].__set__ for field in dataclasses.fields(NewJob))
if [field.name for field in dataclasses.fields(NewJob)][3:7] != [
        "args_json", "kwargs_json", "max_attempts", "run_at"]:  # `rows_like` relies on it
    raise AssertionError("NewJob's fields moved: rows_like must follow")


def rows_like(template: NewJob) -> Callable[[str, str, datetime], NewJob]:
    """Rows that differ from `template` only in their arguments and run time, built without
    `__init__`: the template's fields were checked once, when it was built, and a call's
    arguments are checked when they are encoded. A frozen dataclass's `__init__` (with the
    NUL checks) cost a tenth of a single enqueue."""
    head = (template.name, template.queue, template.priority)
    max_attempts = template.max_attempts
    tail = tuple(getattr(template, field.name) for field in dataclasses.fields(NewJob)[7:])

    def row(args_json: str, kwargs_json: str, run_at: datetime) -> NewJob:
        job: NewJob = object.__new__(NewJob)
        for setter, value in zip(_NEW_SETTERS, (*head, args_json, kwargs_json, max_attempts,
                                                run_at, *tail), strict=True):
            setter(job, value)
        return job

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
