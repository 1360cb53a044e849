"""Operator actions on jobs, as values: what to do to every job a filter matches.

The CLI and the dashboard build these; `Backend.change` persists them. Which states an action
may touch is policy, decided here once: the backend receives a filter already narrowed to
those states.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from conveyor import model
from conveyor.model import JobState as S

EDITABLE = frozenset({S.PENDING, S.SCHEDULED, S.AVAILABLE, S.RETRYABLE, S.DISCARDED,
                      S.CANCELLED})
"""States in which an operator may change a job's arguments, queue, priority or run time:
waiting (before it runs) or failed and cancelled (before it runs again)."""
EDITABLE_AND_RETRIED = EDITABLE & model.OPERATOR_RETRY_FROM
"""States from which an edit may also run the job again (`EditJobs.retry`)."""


@dataclasses.dataclass(frozen=True, slots=True)
class RetryJobs:
    """Run again now with fresh attempts (discarded, cancelled, completed, waiting)."""

    eligible = model.OPERATOR_RETRY_FROM
    verb = "retry"


@dataclasses.dataclass(frozen=True, slots=True)
class CancelJobs:
    """Cancel waiting jobs now; running ones get a cancel request their worker acts on
    within one heartbeat."""

    eligible = model.WAITING_STATES | {S.RUNNING}
    verb = "cancel"


@dataclasses.dataclass(frozen=True, slots=True)
class DeleteJobs:
    """Delete rows for good; running jobs are left alone (their worker still owns them)."""

    eligible = frozenset(set(S) - {S.RUNNING})
    verb = "delete"


@dataclasses.dataclass(frozen=True, slots=True)
class EditJobs:
    """Change where, when or with what a job runs. Unset fields stay as they are. With
    `retry`, the job also runs again with fresh attempts (at `run_at`, or now) in the same
    transaction, so no worker can run it before the edit."""

    priority: int | None = None
    queue: str | None = None
    run_at: datetime | None = None
    args_json: str | None = None
    kwargs_json: str | None = None
    retry: bool = False
    verb = "edit"

    @property
    def eligible(self) -> frozenset[S]:
        return EDITABLE_AND_RETRIED if self.retry else EDITABLE


Change = RetryJobs | CancelJobs | DeleteJobs | EditJobs


def eligible_states(change: Change, asked: tuple[model.JobState, ...]) -> tuple[S, ...]:
    """The states `change` will touch: those asked for (all when none) that it may touch."""
    wanted = set(asked) if asked else set(S)
    return tuple(sorted(wanted & change.eligible))
