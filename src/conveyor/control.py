"""Exceptions job code raises to steer its own job (not failures)."""

from __future__ import annotations

import math
from typing import Any


class JobControl(Exception):
    """Base of the control exceptions; never recorded as a failure by itself."""


class Retry(JobControl):
    """Fail this attempt on purpose and run again in `in_` seconds (uses an attempt)."""

    def __init__(self, in_: float | None = None, reason: str = "retry requested") -> None:
        super().__init__(reason)
        self.in_ = in_
        self.reason = reason


class Snooze(JobControl):
    """Run again in `seconds` without using an attempt."""

    def __init__(self, seconds: float) -> None:
        if not 0 <= seconds < math.inf:  # NaN fails too
            raise ValueError(f"Snooze seconds must be a finite number >= 0, got {seconds}")
        super().__init__(f"snoozed for {seconds}s")
        self.seconds = seconds


class Discard(JobControl):
    """End this job for good as `discarded`, whatever attempts it has left: it can never
    succeed (bad input, a resource that is gone). The reason is kept as its error and the
    job type's `on_discard` hook runs."""

    def __init__(self, reason: str = "discarded by job") -> None:
        super().__init__(reason)
        self.reason = reason


class Cancel(JobControl):
    """Stop this job for good; it ends `cancelled` with the reason."""

    def __init__(self, reason: str = "cancelled by job") -> None:
        super().__init__(reason)
        self.reason = reason


class RateLimited(JobControl):
    """The remote API said "too many requests": pause the rate key for every worker for
    `retry_after` seconds and run this job again then, without using an attempt.

    `key` is the key as declared (e.g. "wa:123"); by default every rate key of the job."""

    def __init__(self, retry_after: float, key: str | None = None) -> None:
        if not 0 <= retry_after < math.inf:
            raise ValueError(f"retry_after must be a finite number >= 0, got {retry_after}")
        super().__init__(f"rate limited for {retry_after}s")
        self.retry_after = retry_after
        self.key = key


_FIELDS: dict[str, tuple[type[JobControl], tuple[str, ...]]] = {
    cls.__name__: (cls, fields) for cls, fields in (
        (Retry, ("in_", "reason")), (Snooze, ("seconds",)), (Discard, ("reason",)),
        (Cancel, ("reason",)), (RateLimited, ("retry_after", "key")))}


def describe(exc: JobControl) -> list[Any]:
    """`exc` as JSON-ready values, to cross a process boundary (isolated jobs)."""
    name = type(exc).__name__ if type(exc).__name__ in _FIELDS else \
        next(n for n, (cls, _) in _FIELDS.items() if isinstance(exc, cls))
    return [name, {field: getattr(exc, field) for field in _FIELDS[name][1]}]


def rebuild(name: str, fields: dict[str, Any]) -> JobControl:
    """The control exception `describe` described."""
    cls, _ = _FIELDS[name]
    return cls(**fields)
