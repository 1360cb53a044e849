"""How an attempt ended: the small tagged values a worker hands to `Backend.finish`.

Each carries the attempt it settles, so the backend can compare-and-set: a job leaves
`running` only if it is still running *that* attempt. Anything else is a lost lease. Each
also carries the job's batch (`batch_id`, None for most jobs), so the backend can lock the
batch before the job and settle it in the same transaction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime

from conveyor import model


@dataclasses.dataclass(frozen=True, slots=True)
class Completed:
    """Succeeded; `result_json` is the encoded return value (None when it returned None)."""

    job_id: int
    attempt: int
    result_json: str | None = None
    batch_id: int | None = None
    target = model.JobState.COMPLETED


@dataclasses.dataclass(frozen=True, slots=True)
class Failed:
    """Raised. Runs again at `retry_at`, or is discarded when `retry_at` is None."""

    job_id: int
    attempt: int
    error_json: str
    retry_at: datetime | None
    batch_id: int | None = None

    @property
    def target(self) -> model.JobState:
        return model.JobState.DISCARDED if self.retry_at is None else model.JobState.RETRYABLE


@dataclasses.dataclass(frozen=True, slots=True)
class Snoozed:
    """Asked to run later without using an attempt (`Snooze`, limits)."""

    job_id: int
    attempt: int
    run_at: datetime
    batch_id: int | None = None
    target = model.JobState.SCHEDULED


@dataclasses.dataclass(frozen=True, slots=True)
class Cancelled:
    """Stopped for good by job code (`Cancel`) or an operator; the reason is kept as an error."""

    job_id: int
    attempt: int
    error_json: str
    batch_id: int | None = None
    target = model.JobState.CANCELLED


@dataclasses.dataclass(frozen=True, slots=True)
class Interrupted:
    """The worker shut down before the attempt ended: back to `available`, attempt refunded."""

    job_id: int
    attempt: int
    error_json: str
    batch_id: int | None = None
    target = model.JobState.AVAILABLE


Outcome = Completed | Failed | Snoozed | Cancelled | Interrupted


def batches_of(outcomes: Sequence[Outcome]) -> list[int]:
    """The batches the outcomes' jobs belong to, in id order (the order they are locked in)."""
    return sorted({o.batch_id for o in outcomes if o.batch_id is not None})
