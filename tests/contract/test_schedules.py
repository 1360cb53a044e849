"""Cron schedules: validation, exactly once per slot with several schedulers, DST, clock jumps,
misfire policies, pause - the same on every backend."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from conveyor import Conveyor, FrozenClock, InvalidSchedule, JobFilter
from conveyor.backends import base, urls
from conveyor.crontab import Scheduler

WARSAW = ZoneInfo("Europe/Warsaw")


@pytest.mark.parametrize(("expression", "problem"), [
    ("* * *", "expected 5 fields"),
    ("61 * * * *", "the minute field '61'"),
    ("0 25 * * *", "the hour field '25'"),
    ("0 0 * 13 *", "the month field '13'"),
    ("@hourly junk", "unknown alias"),
    ("@fortnightly", "unknown alias"),
    ("", "non-empty string"),
])
def test_a_garbage_expression_fails_at_registration(app: Conveyor, expression: str,
                                                    problem: str) -> None:
    @app.job()
    def cleanup() -> None: ...

    with pytest.raises(InvalidSchedule, match=f"cron schedule 'carts'.*{problem}"):
        app.cron(expression, cleanup, name="carts")
    assert app.schedules == {}


def test_bad_options_fail_at_registration(app: Conveyor) -> None:
    @app.job()
    def sync(shop: int) -> None: ...

    with pytest.raises(InvalidSchedule, match="unknown time zone 'Mars/Base'"):
        app.cron("0 2 * * *", sync, args=(1,), tz="Mars/Base")
    with pytest.raises(InvalidSchedule, match="misfire='sometimes'"):
        app.cron("0 2 * * *", sync, args=(1,), misfire="sometimes")
    with pytest.raises(Exception, match="do not match"):
        app.cron("0 2 * * *", sync, args=("a", "b"))
    app.cron("@daily", sync, args=(1,))
    with pytest.raises(InvalidSchedule, match="already registered"):
        app.cron("0 3 * * *", sync, args=(2,))


async def _tick_all(schedulers: list[Scheduler], now: datetime) -> int:
    counts = await asyncio.gather(*(s.tick(now) for s in schedulers))
    return sum(counts)


async def test_three_schedulers_fire_each_slot_once_across_dst_and_a_clock_jump(
        url: str, app: Conveyor, clock: FrozenClock) -> None:
    @app.job()
    def report() -> None: ...

    app.cron("30 1-3 * * *", report, tz=WARSAW, misfire="catch_up", name="nightly")
    stores = [urls.open_backend(url) for _ in range(3)]
    for store in stores:
        await store.migrate()
    schedulers = [Scheduler(app.schedules, store) for store in stores]
    try:
        # Autumn: 02:00-03:00 happens twice in Warsaw on 2026-10-25.
        clock.set(datetime(2026, 10, 24, 22, 0, tzinfo=UTC))
        await _tick_all(schedulers, clock.now())  # registers: slots from now on
        now = clock.now()
        for _ in range(6 * 60):  # every minute for six hours, all three at once
            now += timedelta(minutes=1)
            await _tick_all(schedulers, now)
        # The clock jumps back an hour and runs forward again: nothing fires twice.
        for _ in range(90):
            now -= timedelta(minutes=1) if _ < 60 else -timedelta(minutes=1)
            await _tick_all(schedulers, now)
    finally:
        for store in stores:
            await store.close()
    # A fixed-time slot in the repeated hour runs once (as in Debian's cron).
    assert _fired_async_safe(await app.ajobs(JobFilter(limit=10_000))) == [
        "2026-10-25T01:30:00+02:00", "2026-10-25T02:30:00+02:00",
        "2026-10-25T03:30:00+01:00"]


def _fired_async_safe(jobs: list[object]) -> list[str]:
    """Slots of the cron jobs among `jobs`, in Warsaw time, sorted."""
    return sorted(datetime.fromisoformat(j.meta["slot"]).astimezone(WARSAW).isoformat()  # type: ignore[attr-defined]
                  for j in jobs if "cron" in j.meta)  # type: ignore[attr-defined]


async def test_spring_forward_runs_the_skipped_slot_just_after_the_jump(
        backend: base.Backend, app: Conveyor) -> None:
    @app.job()
    def nightly() -> None: ...

    app.cron("0 2 * * *", nightly, tz="Europe/Warsaw")
    scheduler = Scheduler(app.schedules, backend)
    now = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
    await scheduler.tick(now)
    fired = 0
    for _ in range(48):
        now += timedelta(hours=1)
        fired += await scheduler.tick(now)
    assert fired == 2
    assert _fired_async_safe(await app.ajobs()) == [
        "2026-03-29T03:00:00+02:00", "2026-03-30T02:00:00+02:00"]


@pytest.mark.parametrize(("policy", "expected"), [
    ("skip", []),
    ("run_once", ["2026-01-01T05:00:00+00:00"]),
    ("catch_up", ["2026-01-01T03:00:00+00:00", "2026-01-01T04:00:00+00:00",
                  "2026-01-01T05:00:00+00:00"]),
])
async def test_misfire_policies_for_slots_missed_while_no_worker_ran(
        backend: base.Backend, app: Conveyor, policy: str, expected: list[str]) -> None:
    @app.job()
    def hourly() -> None: ...

    app.cron("0 * * * *", hourly, misfire=policy, catch_up_limit=3)
    scheduler = Scheduler(app.schedules, backend)
    await scheduler.tick(datetime(2026, 1, 1, 0, 30, tzinfo=UTC))
    # Down from 00:30 to 05:20: slots 01:00 ... 05:00 were missed.
    await scheduler.tick(datetime(2026, 1, 1, 5, 20, tzinfo=UTC))
    slots = sorted(j.meta["slot"] for j in await app.ajobs())
    assert slots == expected
    # On time again: the next slot fires under every policy.
    assert await scheduler.tick(datetime(2026, 1, 1, 6, 0, 5, tzinfo=UTC)) == 1


async def test_pause_and_resume_a_schedule(backend: base.Backend, app: Conveyor) -> None:
    @app.job()
    def hourly() -> None: ...

    app.cron("0 * * * *", hourly)
    scheduler = Scheduler(app.schedules, backend)
    start = datetime(2026, 1, 1, 0, 30, tzinfo=UTC)
    await scheduler.tick(start)
    assert await backend.pause_schedule(hourly.name, True, start)
    assert await scheduler.tick(start + timedelta(hours=3)) == 0
    assert await backend.pause_schedule(hourly.name, False, start + timedelta(hours=3))
    assert await scheduler.tick(start + timedelta(hours=3, minutes=1)) == 0  # missed: skipped
    assert await scheduler.tick(start + timedelta(hours=3, minutes=30)) == 1  # 04:00
    assert not await backend.pause_schedule("no-such-schedule", True, start)
    states = {s.name: s for s in await backend.schedules()}
    assert states[hourly.name].expression == "0 * * * *" and not states[hourly.name].paused


async def test_the_leader_fires_schedules(backend: base.Backend, app: Conveyor,
                                          clock: FrozenClock) -> None:
    from conveyor.worker.leader import Leader

    ran: list[int] = []

    @app.job()
    def cleanup(shop: int) -> None:
        ran.append(shop)

    app.cron("*/5 * * * *", cleanup, args=(7,))
    clock.set(datetime(2026, 1, 1, 10, 3, tzinfo=UTC))
    leader = Leader(app, backend, "worker-1")
    await leader.run_once()
    clock.advance(120)  # 10:05
    await leader.run_once()
    await leader.run_once()
    await app.adrain()
    assert ran == [7]
    (job,) = await app.ajobs()
    assert job.meta["cron"] == cleanup.name and job.meta["slot"] == "2026-01-01T10:05:00+00:00"


def test_run_a_schedule_now_by_hand(app: Conveyor, clock: FrozenClock) -> None:
    ran: list[int] = []

    @app.job(name="report")
    def report(shop: int) -> None:
        ran.append(shop)

    clock.set(datetime(2026, 1, 1, 10, 15, tzinfo=UTC))
    app.cron("0 * * * *", report, args=(7,), name="hourly-report")
    app.pause_cron("hourly-report")  # paused: a manual run happens all the same
    job = app.admin.run_cron("hourly-report", actor="ana")
    again = app.admin.run_cron("hourly-report", actor="bob")  # no slot, no unique key
    assert job.id != again.id and job.run_at == clock.now()
    stored = app.get(job.id)
    assert stored.meta == {"cron": "hourly-report", "manual": True, "actor": "ana"}
    assert (stored.name, list(stored.args)) == ("report", [7])
    app.drain()
    assert ran == [7, 7]
    audit = [a for a in app.admin.audit().entries if a.action == "cron_run"]
    assert [(a.actor, a.action, dict(a.filter), a.count) for a in audit] == [
        ("bob", "cron_run", {"schedule": "hourly-report"}, 1),
        ("ana", "cron_run", {"schedule": "hourly-report"}, 1)]
    assert [a.actor for a in app.admin.job_detail(job.id).audit] == ["ana"]
    info = app.cron_schedules()[0]
    assert info.paused and info.last_slot == clock.now()  # its slots are untouched
    with pytest.raises(InvalidSchedule, match="no cron schedule named 'nope'"):
        app.admin.run_cron("nope")
    other = Conveyor(app.url, clock=clock)  # declares nothing: runs the stored definition
    try:
        by_other = other.admin.run_cron("hourly-report", actor="eve")
    finally:
        other.close()
    assert (by_other.name, list(by_other.args), by_other.meta["actor"]) == ("report", [7], "eve")
