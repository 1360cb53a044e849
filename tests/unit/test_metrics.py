"""The in-memory tally and the dense series, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from conveyor import metrics, outcome

T = datetime(2026, 5, 1, 9, 59, 30, tzinfo=UTC)


def test_outcomes_map_to_counters() -> None:
    assert metrics.kind_of(outcome.Completed(1, 1)) == "completed"
    assert metrics.kind_of(outcome.Failed(1, 1, "{}", None)) == "failed"
    assert metrics.kind_of(outcome.Failed(1, 1, "{}", T)) == "retried"
    assert metrics.kind_of(outcome.Cancelled(1, 1, "{}")) == "cancelled"
    assert metrics.kind_of(outcome.Snoozed(1, 1, T)) is None
    assert metrics.kind_of(outcome.Interrupted(1, 1, "{}")) is None


def test_tally_adds_up_per_minute_queue_and_name_and_takes_rows_back() -> None:
    tally = metrics.Tally()
    tally.add(T, "mail", "send", "completed", 2.0)
    tally.add(T + timedelta(seconds=20), "mail", "send", "completed", 5.0)
    tally.add(T + timedelta(seconds=40), "mail", "send", "failed", 1.0)  # the next minute
    tally.add(T, "sync", "send", "retried", 0.5)
    assert len(tally) == 3
    rows = {(r.minute.minute, r.queue): r for r in tally.drain()}
    assert len(tally) == 0
    first = rows[(59, "mail")]
    assert (first.completed, first.runtime_sum, first.runtime_max) == (2, 7.0, 5.0)
    assert rows[(0, "mail")].failed == 1 and rows[(59, "sync")].retried == 1
    tally.merge(rows.values())
    tally.merge([first])
    again = {(r.minute.minute, r.queue): r for r in tally.drain()}
    assert again[(59, "mail")].completed == 4 and again[(59, "mail")].runtime_max == 5.0


def test_buckets_are_utc_minutes_and_hours() -> None:
    india = T.astimezone(timezone(timedelta(hours=5, minutes=30)))
    assert metrics.floor(india) == datetime(2026, 5, 1, 9, 59, tzinfo=UTC)
    assert metrics.floor(india, "hour") == datetime(2026, 5, 1, 9, tzinfo=UTC)


def test_series_fills_every_bucket() -> None:
    rows = [metrics.MetricRow(datetime(2026, 5, 1, 9, 1, tzinfo=UTC), "", "", completed=3,
                              runtime_sum=1.5, runtime_max=1.0),
            metrics.MetricRow(datetime(2026, 5, 1, 10, 2, tzinfo=UTC), "", "", failed=1)]
    since = datetime(2026, 5, 1, 9, 0, 10, tzinfo=UTC)
    until = datetime(2026, 5, 1, 10, 3, tzinfo=UTC)
    minutes = metrics.series(rows, since, until, "minute")
    assert len(minutes) == 64 and minutes[1].completed == 3 and minutes[62].failed == 1
    assert sum(p.attempts for p in minutes) == 4
    hours = metrics.series(rows, since, until, "hour")
    assert [(p.at.hour, p.completed, p.failed, p.runtime_max_s) for p in hours] == [
        (9, 3, 0, 1.0), (10, 0, 1, 0.0)]
