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


class CancelRequest(threading.Event):
    """A `threading.Event` that builds its condition only when a thread first waits on it:
    a worker makes one per attempt, and almost no attempt is ever waited on or cancelled."""

    _guard = threading.Lock()
    """One lock for every request: it guards only the rare `set`, `clear` and `wait`."""

    _requested = False
    _waited: threading.Event | None = None
    """Both start as these class attributes: a request never set or waited on writes none."""

    __init__ = object.__init__
    """Not the base's (its condition is replaced by `_waited`), and no Python frame: one is
    made for every attempt."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {'set' if self._requested else 'unset'}>"

    def is_set(self) -> bool:
        return self._requested

    def set(self) -> None:
        with self._guard:
            self._requested = True
            if self._waited is not None:
                self._waited.set()

    def clear(self) -> None:
        with self._guard:
            self._requested = False
            if self._waited is not None:
                self._waited.clear()

    def wait(self, timeout: float | None = None) -> bool:
        with self._guard:
            if self._requested:
                return True
            if self._waited is None:
                self._waited = threading.Event()
            waited = self._waited
        return waited.wait(timeout)


@dataclasses.dataclass(frozen=True, slots=True)
class JobContext:
    job: model.Job
    cancel_requested: threading.Event = dataclasses.field(default_factory=CancelRequest)
    """Set when an operator asked to cancel the job (see the module's docstring)."""


def current_job() -> JobContext:
    """The running job's context; raises LookupError outside a job."""
    try:
        return _current.get()
    except LookupError:
        raise LookupError("current_job() is only available inside a running job") from None


def enter(ctx: JobContext) -> None:
    _current.set(ctx)
