"""Per-job-type defaults and per-enqueue overrides, validated where they are written."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any

from conveyor import errors

DEFAULT_QUEUE = "default"
DEFAULT_MAX_ATTEMPTS = 20
MAX_SECONDS = 100 * 366 * 86_400
"""A century: the longest delay, timeout or period accepted. Beyond it a number is a mistake
(and dates overflow)."""
MAX_INT32 = 2**31 - 1


@dataclasses.dataclass(frozen=True, slots=True)
class EnqueueOptions:
    """Where, when and how often a job runs. `None` means "use the job type's default"."""

    queue: str | None = None
    priority: int | None = None
    max_attempts: int | None = None
    delay: float | None = None
    run_at: datetime | None = None
    retry_until: datetime | None = None
    timeout: float | None = None
    on_conflict: str | None = None
    """For unique jobs: "ignore" (default) returns the existing job, "replace" updates it."""
    cost: int | None = None
    """Rate-limit slots this job takes (default: the job type's `cost`, else 1)."""
    depends_on: tuple[int, ...] | None = None
    """Jobs (or their ids) that must complete before this one runs."""
    on_dependency_failure: str | None = None
    """"cancel" (default) this job when a dependency is discarded or cancelled, or "run"."""

    def merged(self, override: EnqueueOptions) -> EnqueueOptions:
        """`override`'s set fields win; `delay` and `run_at` replace each other."""
        changes = {f.name: getattr(override, f.name) for f in dataclasses.fields(override)
                   if getattr(override, f.name) is not None}
        if "delay" in changes:
            changes.setdefault("run_at", None)
        elif "run_at" in changes:
            changes["delay"] = None
        return dataclasses.replace(self, **changes)

    def run_time(self, now: datetime) -> datetime:
        if self.run_at is not None:
            return self.run_at
        if self.delay:
            return now + timedelta(seconds=self.delay)
        return now


def build(job: str, **values: Any) -> EnqueueOptions:
    """Validate raw keyword options for `job` and return them as `EnqueueOptions`."""
    unknown = set(values) - {f.name for f in dataclasses.fields(EnqueueOptions)}
    if unknown:
        raise errors.ConfigurationError(f"job {job!r}: unknown option(s) "
                                        f"{', '.join(sorted(unknown))}")
    if values.get("depends_on") is not None:
        values["depends_on"] = _job_ids(job, values["depends_on"])
    opts = EnqueueOptions(**values)
    _check(job, opts)
    return opts


def _check(job: str, opts: EnqueueOptions) -> None:
    def fail(field: str, value: Any, rule: str) -> None:
        raise errors.ConfigurationError(f"job {job!r}: {field}={value!r:.80} is invalid; {rule}")

    if opts.queue is not None and (problem := queue_problem(opts.queue)):
        fail("queue", opts.queue, problem)
    if opts.priority is not None and (type(opts.priority) is not int
                                      or not -(2**31) < opts.priority < 2**31):
        fail("priority", opts.priority, "priority is a 32-bit integer (lower runs first)")
    if opts.max_attempts is not None and (type(opts.max_attempts) is not int
                                          or not 1 <= opts.max_attempts <= 10_000):
        fail("max_attempts", opts.max_attempts, "it must be an integer from 1 to 10000")
    if opts.delay is not None and not is_seconds(opts.delay, positive=False):
        fail("delay", opts.delay, f"delay is a number of seconds from 0 to {MAX_SECONDS}")
    for field in ("run_at", "retry_until"):
        value = getattr(opts, field)
        if value is not None and not _is_aware(value):
            fail(field, value, "it must be a timezone-aware datetime")
    if opts.timeout is not None and not is_seconds(opts.timeout, positive=True):
        fail("timeout", opts.timeout, f"timeout is a number of seconds > 0, at most {MAX_SECONDS}")
    if opts.cost is not None and (type(opts.cost) is not int or not 1 <= opts.cost <= MAX_INT32):
        fail("cost", opts.cost, f"cost is an integer from 1 to {MAX_INT32}")
    if opts.on_conflict not in (None, "ignore", "replace"):
        fail("on_conflict", opts.on_conflict, 'use "ignore" or "replace"')
    if opts.on_dependency_failure not in (None, "cancel", "run"):
        fail("on_dependency_failure", opts.on_dependency_failure, 'use "cancel" or "run"')


def is_seconds(value: Any, *, positive: bool) -> bool:
    """A real number of seconds (not a bool, not NaN or infinite) up to `MAX_SECONDS`."""
    if type(value) is bool or not isinstance(value, int | float):
        return False
    return (value > 0 if positive else value >= 0) and value <= MAX_SECONDS  # NaN: False


def queue_problem(queue: Any) -> str | None:
    """Why `queue` cannot be a queue name, or None. A name must be addressable by
    `conveyor worker --queues a,b`, which splits on commas and strips spaces."""
    if not isinstance(queue, str) or not queue or len(queue) > 128:
        return "a queue is a non-empty string of at most 128 characters"
    if "," in queue or queue != queue.strip() or not queue.isprintable():
        return ("a queue name has no commas, no leading or trailing spaces and no control "
                "characters (`--queues` could not name it)")
    return None


def _is_aware(value: Any) -> bool:
    return isinstance(value, datetime) and value.utcoffset() is not None


def _job_ids(job: str, values: Any) -> tuple[int, ...]:
    """Jobs or ids, as ids: `depends_on=[parent_job]` and `depends_on=[17]` both work."""
    items = values if isinstance(values, list | tuple | set | frozenset) else [values]
    ids = []
    for item in items:
        job_id = getattr(item, "id", item)
        if type(job_id) is not int or not 1 <= job_id < 2**63:
            raise errors.ConfigurationError(
                f"job {job!r}: depends_on holds {item!r:.60}; it takes jobs or job ids")
        ids.append(job_id)
    return tuple(dict.fromkeys(ids))
