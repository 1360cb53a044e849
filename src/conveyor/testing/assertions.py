"""Assertions on the jobs a test enqueued, with failures that show what *was* enqueued.

A call is matched the way the job would run it: bound by the job's own signature with its
defaults applied, so `assert_enqueued(sync, args=(1,), kwargs={"shop_id": 2})` matches a job
enqueued as `sync.enqueue(1, 2)` or `sync.enqueue(product_id=1, shop_id=2)`. Values are
compared as they are stored (JSON: a tuple reads back as a list).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from conveyor import arguments, encoding, errors, model, registry
from conveyor.app import Conveyor
from conveyor.backends import base

WAITING: tuple[model.JobState, ...] = (
    model.JobState.PENDING, model.JobState.SCHEDULED, model.JobState.AVAILABLE,
    model.JobState.RETRYABLE)
"""States of a job that is enqueued and has not run (or will run again)."""
LISTED = 20
"""Jobs a failure message lists before it says how many more there are."""
Target = registry.JobType[Any, Any] | Conveyor


def enqueued_jobs(target: Target, args: Sequence[Any] | None = None,
                  kwargs: Mapping[str, Any] | None = None, *,
                  within: float | timedelta | None = None, queue: str | None = None,
                  states: Iterable[model.JobState] = WAITING) -> list[model.Job]:
    """Jobs of `target` (a job, or an app for all of its jobs) in `states` (by default the
    waiting ones), oldest first; with `args`/`kwargs` only those called so; with `within`
    only those due within that many seconds of the app's clock."""
    app, name = _app_and_name(target)
    matcher = _Matcher(target, args, kwargs, within, queue, app.clock.now())
    return [job for job in _jobs(app, name, states) if matcher.matches(job)]


def assert_enqueued(target: Target, args: Sequence[Any] | None = None,
                    kwargs: Mapping[str, Any] | None = None, *,
                    within: float | timedelta | None = None, queue: str | None = None,
                    count: int | None = None,
                    states: Iterable[model.JobState] = WAITING) -> list[model.Job]:
    """Fail unless a job of `target` is waiting, called with `args`/`kwargs` (when given), in
    `queue`, due within `within` seconds; with `count`, exactly that many. Returns them."""
    app, name = _app_and_name(target)
    chosen = tuple(states)
    matcher = _Matcher(target, args, kwargs, within, queue, app.clock.now())
    every = _jobs(app, None, chosen)
    found = [job for job in every if (name is None or job.name == name) and matcher.matches(job)]
    if (count is None and found) or (count is not None and len(found) == count):
        return found
    wanted = "a job" if count is None else f"{count} job{'s' if count != 1 else ''}"
    raise AssertionError(
        f"expected {wanted} {matcher.describe(name)}; found {len(found)}.\n"
        + listing(every, chosen, app.clock.now()))


def assert_not_enqueued(target: Target, args: Sequence[Any] | None = None,
                        kwargs: Mapping[str, Any] | None = None, *,
                        within: float | timedelta | None = None, queue: str | None = None,
                        states: Iterable[model.JobState] = WAITING) -> None:
    """Fail if a job of `target` matching the same criteria as `assert_enqueued` is waiting."""
    app, _ = _app_and_name(target)
    found = enqueued_jobs(target, args, kwargs, within=within, queue=queue, states=states)
    if found:
        matcher = _Matcher(target, args, kwargs, within, queue, app.clock.now())
        raise AssertionError(
            f"expected no job {matcher.describe(_app_and_name(target)[1])}; found "
            f"{len(found)}.\n" + listing(found, tuple(states), app.clock.now()))


def listing(jobs: Sequence[model.Job], states: Sequence[model.JobState], now: datetime) -> str:
    """What a failure shows: each job as a call, with queue, state and when it is due."""
    shown = "/".join(state.value for state in states)
    if not jobs:
        return f"No {shown} jobs at all."
    lines = [f"{shown.capitalize()} jobs ({len(jobs)}):"]
    lines += [f"  #{job.id} {call_text(job.name, job.args, job.kwargs)}  queue={job.queue} "
              f"{job.state.value} {_due(job.run_at, now)}" for job in jobs[:LISTED]]
    if len(jobs) > LISTED:
        lines.append(f"  ... and {len(jobs) - LISTED} more")
    return "\n".join(lines)


def call_text(name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> str:
    parts = [repr(value) for value in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return f"{name}({', '.join(parts)})"


def _due(run_at: datetime, now: datetime) -> str:
    seconds = (run_at - now).total_seconds()
    if seconds <= 0:
        return f"due now (run_at {run_at.isoformat()})"
    return f"due in {seconds:g}s (run_at {run_at.isoformat()})"


class _Matcher:
    """The criteria of one assertion, and how a job is held against them."""

    def __init__(self, target: Target, args: Sequence[Any] | None,
                 kwargs: Mapping[str, Any] | None, within: float | timedelta | None,
                 queue: str | None, now: datetime) -> None:
        self.job_type = target if isinstance(target, registry.JobType) else None
        self.call = None if args is None and kwargs is None else (
            _stored(list(args or ()), "args"), _stored(dict(kwargs or {}), "kwargs"))
        self.bound = None if self.call is None or self.job_type is None else \
            _bound(self.job_type.name, self.job_type.signature, *self.call)
        self.latest = None if within is None else now + _seconds(within)
        self.within, self.queue = within, queue

    def matches(self, job: model.Job) -> bool:
        if self.queue is not None and job.queue != self.queue:
            return False
        if self.latest is not None and job.run_at > self.latest:
            return False
        if self.call is None:
            return True
        if self.job_type is None or self.bound is None:
            return (list(job.args), dict(job.kwargs)) == self.call
        try:
            return _bound(job.name, self.job_type.signature, list(job.args),
                          dict(job.kwargs)) == self.bound
        except errors.InvalidArguments:  # stored by older code with another signature
            return False

    def describe(self, name: str | None) -> str:
        what = name or "of any name"
        if self.call is not None:
            what = call_text(name or "<any job>", *self.call)
        parts = [what]
        if self.queue is not None:
            parts.append(f"in queue {self.queue!r}")
        if self.latest is not None:
            parts.append(f"due within {_seconds(self.within or 0).total_seconds():g}s "
                         f"(by {self.latest.isoformat()})")
        return " ".join(parts)


def _bound(name: str, signature: inspect.Signature, args: Sequence[Any],
           kwargs: Mapping[str, Any]) -> dict[str, Any]:
    return dict(arguments.bind(name, signature, args, kwargs).arguments)


def _stored(value: Any, what: str) -> Any:
    """The value as it reads back from storage (tuples become lists, and so on)."""
    return encoding.loads(encoding.dumps(value, what=f"expected {what}"))


def _seconds(within: float | timedelta) -> timedelta:
    if isinstance(within, timedelta):
        return within
    if isinstance(within, int | float) and not isinstance(within, bool) and within >= 0:
        return timedelta(seconds=within)
    raise errors.ConfigurationError(f"within={within!r:.40} is not seconds >= 0 or a timedelta")


def _app_and_name(target: Target) -> tuple[Conveyor, str | None]:
    if isinstance(target, registry.JobType):
        return target.app, target.name
    if isinstance(target, Conveyor):
        return target, None
    raise errors.ConfigurationError(
        f"expected a job (what @app.job returns) or a Conveyor app, got {target!r:.60}")


def _jobs(app: Conveyor, name: str | None, states: Iterable[model.JobState]) -> list[model.Job]:
    where = base.JobFilter(states=list(states), names=[name] if name else [])
    return list(app.admin.iter_jobs(where, order="oldest"))
