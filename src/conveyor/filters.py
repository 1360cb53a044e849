"""Which jobs a listing, a count or an operator action looks at (`JobFilter`), and the
ranges of ids and limits every backend can serve.

Public (`conveyor.JobFilter`); the backends receive filters already range-checked.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from conveyor import errors, model

MAX_ID = 2**63 - 1
"""Ids are 64-bit signed integers on every backend."""
MAX_LIMIT = 1_000_000
"""Most rows one query returns."""


def check_id(value: object, what: str = "job id") -> int:
    """`value` if both backends can look it up (a larger number would overflow), else
    `ConfigurationError`."""
    if type(value) is not int or not -MAX_ID <= value <= MAX_ID:
        raise errors.ConfigurationError(
            f"{what} {value!r:.40} is invalid; ids are integers of at most {MAX_ID}")
    return value


def check_limit(value: object, what: str = "limit") -> int:
    """A row limit from 1 to `MAX_LIMIT` (SQLite would read -1 as "no limit")."""
    if type(value) is not int or not 1 <= value <= MAX_LIMIT:
        raise errors.ConfigurationError(
            f"{what}={value!r:.40} is invalid; it is an integer from 1 to {MAX_LIMIT}")
    return value


@dataclasses.dataclass(frozen=True, slots=True)
class JobFilter:
    """Which jobs a query looks at. Empty fields match everything. Ids and the limit are
    range-checked when the filter is made (`ConfigurationError`)."""

    ids: Sequence[int] = ()
    states: Sequence[model.JobState] = ()
    queues: Sequence[str] = ()
    names: Sequence[str] = ()
    args_contains: Sequence[Any] = ()
    """Scalars that must all appear among the positional arguments."""
    kwargs_contains: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    """Keyword arguments that must all be present with these values."""
    inserted_after: datetime | None = None
    inserted_before: datetime | None = None
    text: str | None = None
    """Text the arguments must contain (positional or keyword, values or keyword names),
    compared with their stored JSON text, case-insensitively for ASCII letters."""
    limit: int = 100
    after_id: int | None = None
    """Keyset paging: only ids greater than this (the next page, oldest first)."""
    before_id: int | None = None
    """Keyset paging: only ids smaller than this (the next page, newest first)."""
    newest_first: bool = False
    """Return the highest ids first (default: ascending ids)."""
    match_none: bool = False
    """Set when narrowing left no state to look at: matches no job at all."""
    batch_ids: Sequence[int] = ()

    def __post_init__(self) -> None:
        check_limit(self.limit)
        bounds = [b for b in (self.after_id, self.before_id) if b is not None]
        for job_id in (*self.ids, *bounds):
            check_id(job_id)
        for batch_id in self.batch_ids:
            check_id(batch_id, "batch id")
