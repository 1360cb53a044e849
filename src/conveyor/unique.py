"""Unique jobs: the key that makes two enqueues "the same job", and the states it covers.

Uniqueness is enforced by the database (a partial unique index over `unique_key`, limited to
rows whose state is in the row's own `unique_states` bit mask), never by read-then-write.
`unique_for` turns the key into a time window: the key includes the aligned period the
enqueue falls in, so a new job is accepted once a new period starts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

import orjson

from conveyor import arguments, errors, model

S = model.JobState
DEFAULT_STATES: frozenset[model.JobState] = frozenset(
    {S.SCHEDULED, S.AVAILABLE, S.RUNNING, S.RETRYABLE})
STATE_BITS: Mapping[model.JobState, int] = {state: 1 << i for i, state in enumerate(S)}
"""Bit of each state in `unique_states`; the order is the one the SQL CASE uses."""

KeyFunction = Callable[..., Any]


def states_mask(states: Iterable[model.JobState]) -> int:
    return sum(STATE_BITS[model.JobState(state)] for state in set(states))


def key_for(name: str, call: arguments.Call, key_function: KeyFunction | None,
            period: float | None, now: datetime) -> str:
    """A short stable key: job name, key material (default: all arguments, bound by the
    job's signature) and period. A key function gets the arguments by name."""
    material: Any = call.bound if key_function is None else \
        arguments.call(name, "unique_key", key_function, call.named)
    window = None if period is None else int(now.timestamp() // period)
    try:
        text = orjson.dumps([name, material, window], option=orjson.OPT_SORT_KEYS)
    except TypeError as exc:
        raise errors.Unserializable(f"unique key of job {name!r}: {exc}") from None
    return hashlib.sha256(text).hexdigest()[:32]
