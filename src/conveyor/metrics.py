"""Throughput, failures and run times per minute, per queue and job name.

Workers never write a row per job for this: the settler adds each settled outcome to a
`Tally` in memory and upserts the tally every few seconds (and when it stops), one row per
(minute, queue, name). The database keeps the minutes (pruned past a retention) and totals
since it was created (Prometheus counters). `series` turns stored minutes into the dense
minute or hour series charts need, zeros included.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal

from conveyor import errors, outcome

Bucket = Literal["minute", "hour"]
MINUTE = timedelta(minutes=1)
MAX_POINTS = 10_080
"""Longest series one call returns (a week of minutes)."""
KINDS = ("completed", "failed", "retried", "cancelled")


@dataclasses.dataclass(frozen=True, slots=True)
class MetricRow:
    """Outcomes of one minute for one (queue, job name)."""

    minute: datetime
    queue: str
    name: str
    completed: int = 0
    failed: int = 0
    """Discarded: failed for good."""
    retried: int = 0
    """Failed, will run again."""
    cancelled: int = 0
    runtime_sum: float = 0.0
    """Seconds, from claim to outcome, of the attempts counted here."""
    runtime_max: float = 0.0


@dataclasses.dataclass(frozen=True, slots=True)
class MetricPoint:
    """One bucket of a series: outcomes that ended in [at, at + bucket)."""

    at: datetime
    completed: int
    failed: int
    retried: int
    cancelled: int
    runtime_sum_s: float
    runtime_max_s: float

    @property
    def attempts(self) -> int:
        return self.completed + self.failed + self.retried + self.cancelled


@dataclasses.dataclass(frozen=True, slots=True)
class MetricTotal:
    """Outcomes of one (queue, job name) since the database was created."""

    queue: str
    name: str
    completed: int
    failed: int
    retried: int
    cancelled: int
    runtime_sum: float

    @property
    def attempts(self) -> int:
        return self.completed + self.failed + self.retried + self.cancelled


def kind_of(result: outcome.Outcome) -> str | None:
    """Which counter an outcome adds to; None for snoozes and shutdown hand-backs."""
    if type(result) is outcome.Completed:  # nearly every outcome: no pattern to match
        return "completed"
    match result:
        case outcome.Completed():
            return "completed"
        case outcome.Failed(retry_at=None):
            return "failed"
        case outcome.Failed():
            return "retried"
        case outcome.Cancelled():
            return "cancelled"
    return None


def floor(when: datetime, bucket: Bucket = "minute") -> datetime:
    """The start of the UTC minute (or hour) `when` falls in."""
    cut = when.astimezone(UTC).replace(second=0, microsecond=0)
    return cut.replace(minute=0) if bucket == "hour" else cut


class Tally:
    """Outcomes added up per (minute, queue, name) until drained. `add` runs once per settled
    job, so it adds into mutable sums and reuses the minute it floored last."""

    def __init__(self) -> None:
        self._sums: dict[tuple[datetime, str, str], list[float]] = {}
        self._minute: tuple[datetime, datetime] | None = None
        """The last minute floored: [start, end)."""

    def __len__(self) -> int:
        return len(self._sums)

    def add(self, ended: datetime, queue: str, name: str, kind: str, runtime: float) -> None:
        minute = self._minute
        if minute is None or not minute[0] <= ended < minute[1]:
            start = floor(ended)
            minute = self._minute = (start, start + MINUTE)
        key = (minute[0], queue, name)
        sums = self._sums.get(key)
        if sums is None:
            sums = self._sums[key] = [0, 0, 0, 0, 0.0, 0.0]
        sums[_SLOT[kind]] += 1
        sums[4] += runtime
        if runtime > sums[5]:
            sums[5] = runtime

    def merge(self, rows: Iterable[MetricRow]) -> None:
        """Add rows in (also: put back rows whose write failed)."""
        for row in rows:
            key = (row.minute, row.queue, row.name)
            sums = self._sums.get(key)
            if sums is None:
                sums = self._sums[key] = [0, 0, 0, 0, 0.0, 0.0]
            for slot, count in enumerate((row.completed, row.failed, row.retried,
                                          row.cancelled, row.runtime_sum)):
                sums[slot] += count
            sums[5] = max(sums[5], row.runtime_max)

    def drain(self) -> list[MetricRow]:
        sums, self._sums = self._sums, {}
        return [MetricRow(minute, queue, name, int(s[0]), int(s[1]), int(s[2]), int(s[3]),
                          s[4], s[5]) for (minute, queue, name), s in sums.items()]


_SLOT = {kind: slot for slot, kind in enumerate(KINDS)}
"""Where each kind of outcome is counted in a tally's sums (`KINDS` order)."""


def _sum(a: MetricRow, b: MetricRow) -> MetricRow:
    return dataclasses.replace(
        a, completed=a.completed + b.completed, failed=a.failed + b.failed,
        retried=a.retried + b.retried, cancelled=a.cancelled + b.cancelled,
        runtime_sum=a.runtime_sum + b.runtime_sum,
        runtime_max=max(a.runtime_max, b.runtime_max))


def series(rows: Sequence[MetricRow], since: datetime, until: datetime,
           bucket: Bucket) -> list[MetricPoint]:
    """Every bucket from `since`'s to `until`'s (both included), oldest first: the rows (one
    per stored minute, any queue and name) added into their buckets, zeros elsewhere."""
    if bucket not in ("minute", "hour"):
        raise errors.ConveyorError(f'bucket={bucket!r} is invalid; use "minute" or "hour"')
    if since.tzinfo is None or until.tzinfo is None:
        raise errors.ConveyorError("metrics need timezone-aware times (e.g. datetime.now(UTC))")
    step = MINUTE if bucket == "minute" else timedelta(hours=1)
    start, end = floor(since, bucket), floor(until, bucket)
    if (end - start) / step >= MAX_POINTS:
        raise errors.ConveyorError(
            f"a {bucket} series from {since.isoformat()} has more than {MAX_POINTS} points; "
            "ask for a shorter span or hours")
    buckets: dict[datetime, MetricRow] = {}
    for row in rows:
        at = floor(row.minute, bucket)
        have = buckets.get(at)
        buckets[at] = row if have is None else _sum(have, row)
    points = []
    at = start
    while at <= end:
        row = buckets.get(at) or MetricRow(at, "", "")
        points.append(MetricPoint(at, row.completed, row.failed, row.retried, row.cancelled,
                                  row.runtime_sum, row.runtime_max))
        at += step
    return points


@dataclasses.dataclass(frozen=True, slots=True)
class CallStat:
    """Calls of one backend method in this process (see `tracing`)."""

    method: str
    calls: int
    errors: int
    seconds: float
    slowest: float

    @property
    def mean(self) -> float:
        return self.seconds / self.calls if self.calls else 0.0


class CallTally:
    """Backend calls per method, timed by `tracing.TracedBackend`: process-local figures
    (unlike the outcomes, not written to the database). Each thread adds to rows of its own,
    without a lock (a lock cost more than the rest of the timing); `snapshot` adds them up."""

    def __init__(self) -> None:
        self._threads: dict[int, dict[str, list[float]]] = {}

    def add(self, method: str, seconds: float, failed: bool) -> None:
        rows = self._threads.get(threading.get_ident())
        if rows is None:
            rows = self._threads.setdefault(threading.get_ident(), {})
        row = rows.get(method)
        if row is None:
            rows[method] = [1, 1 if failed else 0, seconds, seconds]
            return
        row[0] += 1
        if failed:
            row[1] += 1
        row[2] += seconds
        if seconds > row[3]:
            row[3] = seconds

    def snapshot(self) -> list[CallStat]:
        """Every method called so far, most time spent first."""
        total: dict[str, list[float]] = {}
        for rows in list(self._threads.values()):
            for method, row in list(rows.items()):
                have = total.setdefault(method, [0, 0, 0.0, 0.0])
                have[0] += row[0]
                have[1] += row[1]
                have[2] += row[2]
                have[3] = max(have[3], row[3])
        return sorted((CallStat(method, int(r[0]), int(r[1]), r[2], r[3])
                       for method, r in total.items()), key=lambda stat: -stat.seconds)
