"""Jobs read from storage, built without `Job`'s dataclass `__init__` and decoded lazily.

A worker turns every claimed row into a `Job`; building it through the frozen dataclass's
`__init__` (a setter call a field) and decoding its JSON columns up front were the dearest
part of reading a row. `stored_job` fills the slots with plain stores and leaves the JSON
columns as the database returned them; the descriptors installed on `Job` here decode them
on first read. A `Job` built by its `__init__` holds decoded values, which the descriptors
pass through, so only jobs made here need this module.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from conveyor import errors
from conveyor.model import Job, JobError, slot_twin


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


_Blank = slot_twin(Job)
"""A `Job` being filled by `stored_job`, without `Job`'s frozen `__setattr__` and its
decoding descriptors."""


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
    job.__class__ = Job
    return job  # type: ignore[no-any-return]  # cast() would be a call a row
