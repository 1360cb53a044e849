"""Where observers (tracing, metrics, structured logs) see jobs: around enqueues and attempts.

An observer adds context-manager factories to `app.hooks`. The engine enters them around
inserting new rows (a hook may replace the rows, e.g. to put trace context in their meta, and
reads the inserted jobs' ids on exit) and around each attempt a worker runs (the outcome is set
before they exit; the attempt's code runs inside them, so a context they set is the job's),
and calls `stopped` hooks when a worker stops. `storage` hooks are entered around every call
into the backend, given the method's name (see `tracing`).
A hook that raises is logged and left out: observing never changes what happens to a job.

    @contextlib.contextmanager
    def timed(attempt: hooks.Attempt) -> Iterator[None]:
        began = time.monotonic()
        yield
        print(attempt.job.name, attempt.outcome_name, time.monotonic() - began)

    app.hooks.attempt.append(timed)
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from types import TracebackType
from typing import TypeVar

from conveyor import model, outcome

log = logging.getLogger("conveyor.hooks")
T = TypeVar("T")


@dataclasses.dataclass(slots=True)
class Enqueue:
    """Rows about to be inserted; `ids` holds their jobs' ids once the insert returned."""

    rows: list[model.NewJob]
    ids: list[int] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(slots=True)
class Attempt:
    """One attempt a worker runs; `outcome` (and `error`, what the job raised) are set when
    it has ended."""

    job: model.Job
    worker_id: str
    outcome: outcome.Outcome | None = None
    error: BaseException | None = None

    @property
    def outcome_name(self) -> str:
        """completed, retried, discarded, snoozed, cancelled or interrupted ("" while it runs)."""
        match self.outcome:
            case None:
                return ""
            case outcome.Failed(retry_at=None):
                return "discarded"
            case outcome.Failed():
                return "retried"
        return _NAMES[type(self.outcome)]


_NAMES: dict[type, str] = {outcome.Completed: "completed", outcome.Snoozed: "snoozed",
                           outcome.Cancelled: "cancelled", outcome.Interrupted: "interrupted"}
EnqueueHook = Callable[[Enqueue], AbstractContextManager[object]]
AttemptHook = Callable[[Attempt], AbstractContextManager[object]]
StorageHook = Callable[[str], AbstractContextManager[object]]


class Hooks:
    """The observers of one application, entered in the order they were added."""

    def __init__(self) -> None:
        self.enqueue: list[EnqueueHook] = []
        self.attempt: list[AttemptHook] = []
        self.storage: list[StorageHook] = []
        """Around each backend call, given the method's name: e.g.
        `lambda method: tracer.start_as_current_span(f"conveyor.{method}")`."""
        self.stopped: list[Callable[[], object]] = []
        """Called when a worker of the app has stopped, before its process exits (which
        `conveyor worker` does without running `atexit` handlers): flush buffers here."""

    def worker_stopped(self) -> None:
        for hook in self.stopped:
            try:
                hook()
            except Exception:
                log.exception("hook %r failed when the worker stopped", hook)

    @contextlib.contextmanager
    def enqueuing(self, rows: Sequence[model.NewJob]) -> Iterator[Enqueue]:
        """Around one insert: the caller inserts `call.rows` and stores `call.ids`."""
        call = Enqueue(list(rows))
        with contextlib.ExitStack() as stack:
            for hook in self.enqueue:
                _enter(stack, hook, call)
            yield call

    @contextlib.contextmanager
    def calling(self, method: str) -> Iterator[None]:
        """Around one backend call (`tracing` enters it only when there are storage hooks)."""
        with contextlib.ExitStack() as stack:
            for hook in self.storage:
                _enter(stack, hook, method)
            yield

    @contextlib.contextmanager
    def attempting(self, job: model.Job, worker_id: str) -> Iterator[Attempt]:
        """Around one attempt: the caller runs it and sets `outcome` (and `error`)."""
        attempt = Attempt(job, worker_id)
        with contextlib.ExitStack() as stack:
            for hook in self.attempt:
                _enter(stack, hook, attempt)
            yield attempt


def _enter(stack: contextlib.ExitStack, hook: Callable[[T], AbstractContextManager[object]],
           value: T) -> None:
    try:
        manager = hook(value)
        manager.__enter__()
    except Exception:
        log.exception("hook %r failed on entry; left out", hook)
        return
    stack.push(_Guarded(hook, manager))


@dataclasses.dataclass(frozen=True, slots=True)
class _Guarded:
    """Exits a hook's context manager, logging what it raises; never swallows an error."""

    hook: object
    manager: AbstractContextManager[object]

    def __call__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 trace: TracebackType | None) -> bool:
        try:
            self.manager.__exit__(kind, exc, trace)
        except Exception as raised:
            if raised is not exc:
                log.exception("hook %r failed on exit", self.hook)
        return False
