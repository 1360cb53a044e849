"""What job code can learn about the attempt it runs in: `conveyor.current_job()`.

Useful for idempotency (the job id and attempt) and for cooperative cancellation in plain
`def` jobs, which run in threads that cannot be stopped from outside: such a job checks
`current_job().cancel_requested.is_set()` between steps.
"""

from __future__ import annotations

import contextvars
import dataclasses
import threading

from conveyor import model

_current: contextvars.ContextVar[JobContext] = contextvars.ContextVar("conveyor_job")


@dataclasses.dataclass(frozen=True, slots=True)
class JobContext:
    job: model.Job
    cancel_requested: threading.Event = dataclasses.field(default_factory=threading.Event)


def current_job() -> JobContext:
    """The running job's context; raises LookupError outside a job."""
    try:
        return _current.get()
    except LookupError:
        raise LookupError("current_job() is only available inside a running job") from None


def enter(ctx: JobContext) -> None:
    _current.set(ctx)
