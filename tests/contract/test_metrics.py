"""Per-minute metrics written by workers in batches, read back as dense series, pruned, and
served as Prometheus text - the same on every backend."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from conveyor import Cancel, Conveyor, ConveyorError, FrozenClock, prometheus
from conveyor.backends import base
from conveyor.metrics import MetricRow
from conveyor.worker import leader


@pytest.fixture
def shop(app: Conveyor, clock: FrozenClock) -> Conveyor:
    @app.job(name="shop.mail", queue="mail", max_attempts=2, backoff=0)
    def mail(seconds: float, outcome: str = "ok") -> None:
        clock.advance(seconds)  # the job "runs" this long on the frozen clock
        if outcome == "fail":
            raise RuntimeError("smtp down")
        if outcome == "cancel":
            raise Cancel("not wanted")

    @app.job(name="shop.sync", queue="sync")
    def sync() -> None: ...

    return app


def _counting(backend: base.Backend, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many rows each metrics write carried (a spy around the real backend method)."""
    writes: list[int] = []
    real = backend.record_metrics

    async def record(rows: Sequence[MetricRow]) -> None:
        writes.append(len(rows))
        await real(rows)

    monkeypatch.setattr(backend, "record_metrics", record)
    return writes


async def test_outcomes_are_tallied_per_minute_and_written_once_per_flush(
        shop: Conveyor, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch) -> None:
    start = clock.now().replace(second=0, microsecond=0)
    clock.set(start)
    shop.settings = dataclasses.replace(shop.settings, metrics_interval=3600.0)
    writes = _counting(await shop.storage(), monkeypatch)
    mail, sync = shop.registry.get("shop.mail"), shop.registry.get("shop.sync")
    for _ in range(20):
        await sync.aenqueue()
    await mail.aenqueue(2.0)
    await mail.aenqueue(5.0, "fail")  # retried once (backoff 0), then discarded
    await mail.aenqueue(1.0, "cancel")
    await shop.adrain(concurrency=1)
    assert writes == [2]  # one write for the whole drain: (minute, mail) and (minute, sync)
    points = await shop.admin.ametrics(start)
    assert len(points) == 1 and points[0].at == start
    (now,) = points
    assert (now.completed, now.failed, now.retried, now.cancelled) == (21, 1, 1, 1)
    assert now.runtime_sum_s == pytest.approx(2 + 5 + 5 + 1)
    assert now.runtime_max_s == pytest.approx(5.0)
    mail_only = (await shop.admin.ametrics(start, queue="mail"))[0]
    assert (mail_only.completed, mail_only.failed, mail_only.attempts) == (1, 1, 4)
    by_name = (await shop.admin.ametrics(start, name="shop.sync"))[0]
    assert (by_name.completed, by_name.runtime_sum_s) == (20, 0.0)


async def test_series_are_dense_per_minute_and_per_hour(shop: Conveyor,
                                                        clock: FrozenClock) -> None:
    start = clock.now().replace(minute=0, second=0, microsecond=0)
    clock.set(start + timedelta(minutes=1))
    sync = shop.registry.get("shop.sync")
    for minute in (1, 3, 62):
        clock.set(start + timedelta(minutes=minute, seconds=30))
        await sync.aenqueue()
        await shop.adrain()
    clock.set(start + timedelta(minutes=64))
    minutes = await shop.admin.ametrics(start)
    assert len(minutes) == 65 and minutes[0].at == start
    assert [p.completed for p in minutes[:5]] == [0, 1, 0, 1, 0]
    assert minutes[62].completed == 1 and sum(p.completed for p in minutes) == 3
    assert all(b.at - a.at == timedelta(minutes=1) for a, b in itertools.pairwise(minutes))
    hours = await shop.admin.ametrics(start + timedelta(minutes=30), bucket="hour")
    assert [(p.at, p.completed) for p in hours] == [(start, 2), (start + timedelta(hours=1), 1)]
    assert await shop.admin.ametrics(start, queue="mail") == \
        [p.__class__(p.at, 0, 0, 0, 0, 0.0, 0.0) for p in minutes]


async def test_concurrent_writers_add_up_and_the_leader_prunes_old_minutes(
        shop: Conveyor, clock: FrozenClock) -> None:
    backend = await shop.storage()
    minute = clock.now().replace(second=0, microsecond=0)
    rows = [MetricRow(minute, "mail", "shop.mail", completed=2, runtime_sum=3.0,
                      runtime_max=2.0),
            MetricRow(minute - timedelta(minutes=1), "mail", "shop.mail", failed=1)]
    await backend.record_metrics(rows)
    await backend.record_metrics([MetricRow(minute, "mail", "shop.mail", completed=1,
                                            runtime_sum=4.0, runtime_max=4.0)])
    points = await shop.admin.ametrics(minute - timedelta(minutes=1))
    assert [(p.completed, p.failed) for p in points] == [(0, 1), (3, 0)]
    assert (points[1].runtime_sum_s, points[1].runtime_max_s) == (7.0, 4.0)
    clock.set(minute + timedelta(seconds=shop.settings.metrics_retention) + timedelta(seconds=1))
    await leader.prune(shop, backend)
    assert sum(p.attempts for p in await shop.admin.ametrics(
        minute - timedelta(minutes=2), bucket="hour")) == 0
    (total,) = await shop.admin.ametric_totals()  # totals are never pruned
    assert (total.queue, total.name, total.completed, total.failed, total.runtime_sum) == \
        ("mail", "shop.mail", 3, 1, 7.0)


async def test_bad_metric_requests_are_refused(shop: Conveyor, clock: FrozenClock) -> None:
    with pytest.raises(ConveyorError, match="bucket"):
        await shop.admin.ametrics(clock.now(), bucket="day")  # type: ignore[arg-type]
    with pytest.raises(ConveyorError, match="timezone"):
        await shop.admin.ametrics(clock.now().replace(tzinfo=None))
    with pytest.raises(ConveyorError, match="points"):
        await shop.admin.ametrics(clock.now() - timedelta(days=30))
    assert len(await shop.admin.ametrics(clock.now() - timedelta(days=30), bucket="hour")) \
        == 30 * 24 + 1


def _families(text: bytes) -> dict[str, Any]:
    return {f.name: f for f in text_string_to_metric_families(text.decode())}


async def test_prometheus_text(shop: Conveyor, clock: FrozenClock) -> None:
    mail, sync = shop.registry.get("shop.mail"), shop.registry.get("shop.sync")
    await mail.aenqueue(3.0)
    await mail.aenqueue(1.0, "cancel")
    await shop.adrain(concurrency=1)  # one at a time: the frozen clock is shared
    await sync.aenqueue()
    await shop.admin.apause(queue="sync")
    families = _families(await prometheus.aprometheus_text(shop))
    jobs = {(s.labels["queue"], s.labels["state"]): s.value for s in families["conveyor_jobs"]
            .samples}
    assert jobs[("mail", "completed")] == 1 and jobs[("sync", "available")] == 1
    assert jobs[("mail", "running")] == 0
    paused = {s.labels["queue"]: s.value for s in families["conveyor_queue_paused"].samples}
    assert paused == {"mail": 0.0, "sync": 1.0}
    completed = families["conveyor_jobs_completed"].samples
    assert [(s.name, s.labels, s.value) for s in completed] == [
        ("conveyor_jobs_completed_total", {"queue": "mail", "name": "shop.mail"}, 1.0)]
    runtime = {s.name: s.value for s in families["conveyor_job_runtime_seconds"].samples}
    assert runtime == {"conveyor_job_runtime_seconds_count": 2.0,
                       "conveyor_job_runtime_seconds_sum": 4.0}
    assert families["conveyor_workers_alive"].samples[0].value == 0.0
    assert prometheus.CONTENT_TYPE.startswith("text/plain")
