"""How an attempt ended: the small tagged values a worker hands to `Backend.finish`.

Each carries the attempt it settles, so the backend can compare-and-set: a job leaves
`running` only if it is still running *that* attempt. Anything else is a lost lease.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from conveyor import model


@dataclasses.dataclass(frozen=True, slots=True)
class Completed:
    """Succeeded; `result_json` is the encoded return value (None when it returned None)."""

    job_id: int
    attempt: int
    result_json: str | None = None
    target = model.JobState.COMPLETED


@dataclasses.dataclass(frozen=True, slots=True)
class Failed:
    """Raised. Runs again at `retry_at`, or is discarded when `retry_at` is None."""

    job_id: int
    attempt: int
    error_json: str
    retry_at: datetime | None

    @property
    def target(self) -> model.JobState:
        return model.JobState.DISCARDED if self.retry_at is None else model.JobState.RETRYABLE


@dataclasses.dataclass(frozen=True, slots=True)
class Snoozed:
    """Asked to run later without using an attempt (`Snooze`, limits)."""

    job_id: int
    attempt: int
    run_at: datetime
    target = model.JobState.SCHEDULED


@dataclasses.dataclass(frozen=True, slots=True)
class Cancelled:
    """Stopped for good by job code (`Cancel`) or an operator; the reason is kept as an error."""

    job_id: int
    attempt: int
    error_json: str
    target = model.JobState.CANCELLED


@dataclasses.dataclass(frozen=True, slots=True)
class Interrupted:
    """The worker shut down before the attempt ended: back to `available`, attempt refunded."""

    job_id: int
    attempt: int
    error_json: str
    target = model.JobState.AVAILABLE


Outcome = Completed | Failed | Snoozed | Cancelled | Interrupted
