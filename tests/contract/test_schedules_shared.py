"""Two applications on one database: every stored schedule fires from its stored definition
whichever application leads; the code that starts last stores its definition, a running
application that declares a name differently reports the conflict and never overwrites it;
schedules no application declares are listed as orphaned and can be deleted."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from conveyor import Conveyor, FrozenClock, InvalidSchedule, JobState
from conveyor.crontab import Scheduler
from tests.conftest import raw

START = datetime(2026, 1, 1, 10, 10, tzinfo=UTC)


@pytest.fixture
async def apps(url: str, clock: FrozenClock) -> AsyncIterator[tuple[Conveyor, Conveyor]]:
    """A shop and a back office: each its own jobs and queue, both a schedule "reports"."""
    shop, office = Conveyor(url, clock=clock), Conveyor(url, clock=clock)

    @shop.job(name="shop.report", queue="shop")
    def report(kind: str) -> None: ...

    @office.job(name="office.report", queue="office")
    def office_report(kind: str) -> None: ...

    @office.job(name="office.cleanup", queue="office")
    def cleanup() -> None: ...

    shop.cron("0 * * * *", report, args=("hourly",), name="reports")
    office.cron("*/30 * * * *", office_report, args=("half-hourly",), name="reports")
    office.cron("0 * * * *", cleanup, name="cleanup")
    clock.set(START)
    yield shop, office
    await shop.aclose()
    await office.aclose()


async def _schedulers(shop: Conveyor, office: Conveyor) -> tuple[Scheduler, Scheduler]:
    return (Scheduler(shop.schedules, await shop.storage()),
            Scheduler(office.schedules, await office.storage()))


async def test_whichever_app_leads_every_stored_schedule_fires_as_stored(
        url: str, apps: tuple[Conveyor, Conveyor], caplog: pytest.LogCaptureFixture) -> None:
    shop, office = apps
    at_shop, at_office = await _schedulers(shop, office)
    await at_shop.declare(START)  # the shop's worker starts first
    with caplog.at_level(logging.WARNING, logger="conveyor.cron"):
        await at_office.declare(START)  # then the office's: its code is the truth now
    (redefined,) = [r.getMessage() for r in caplog.records]
    assert "cron schedule 'reports' redefined by this application's code" in redefined
    assert "expression: '0 * * * *' stored, '*/30 * * * *' declared" in redefined
    assert "job.name: 'shop.report' stored, 'office.report' declared" in redefined
    assert raw(url, "SELECT actor, action, count FROM conveyor_audit") == \
        [("worker", "redefine_cron", 1)]
    caplog.clear()
    # The shop, still running, leads: it warns and fires the stored (office) definition,
    # and the office's cleanup too, though it knows neither job. It never redefines.
    with caplog.at_level(logging.WARNING, logger="conveyor.cron"):
        assert await at_shop.tick(START.replace(hour=11, minute=0, second=5)) == 2
    (warning,) = [r.getMessage() for r in caplog.records]
    assert "cron schedule 'reports' is stored with another definition" in warning
    assert "expression: '*/30 * * * *' stored, '0 * * * *' declared" in warning
    # The office leads: its */30 "reports" fires at half past too.
    assert await at_office.tick(START.replace(hour=11, minute=30, second=5)) == 1
    fired = sorted((j.meta["slot"][11:16], j.name, j.queue, list(j.args))
                   for j in await shop.ajobs())
    assert fired == [("11:00", "office.cleanup", "office", []),
                     ("11:00", "office.report", "office", ["half-hourly"]),
                     ("11:30", "office.report", "office", ["half-hourly"])]
    # Inserting a job it does not know burns nothing: it waits for a worker that knows it.
    assert await shop.adrain(queues=["shop"]) == 0
    assert {(j.state, j.attempt) for j in await shop.ajobs()} == {(JobState.AVAILABLE, 0)}
    assert await office.adrain(queues=["office"]) == 3
    assert {j.state for j in await office.ajobs()} == {JobState.COMPLETED}


async def test_a_deploy_that_changes_a_schedule_takes_effect_keeping_its_slot_and_pause(
        url: str, clock: FrozenClock) -> None:
    old, new = Conveyor(url, clock=clock), Conveyor(url, clock=clock)
    for app, expression in ((old, "0 * * * *"), (new, "*/15 * * * *")):
        @app.job(name="shop.report", queue="shop")
        def report() -> None: ...

        app.cron(expression, report, name="reports")
    clock.set(START)
    at_old, at_new = Scheduler(old.schedules, await old.storage()), \
        Scheduler(new.schedules, await new.storage())
    await at_old.declare(START)
    assert await at_old.tick(START.replace(hour=11, minute=0, second=5)) == 1
    await old.apause_cron("reports", True)
    await at_new.declare(START.replace(hour=11, minute=5))
    (info,) = await new.acron_schedules()
    assert (info.status, info.expression, info.paused) == ("active", "*/15 * * * *", True)
    assert info.last_slot == START.replace(hour=11, minute=0)
    await new.apause_cron("reports", False)
    assert await at_new.tick(START.replace(hour=11, minute=15, second=5)) == 1
    await old.aclose()
    await new.aclose()


async def test_listings_show_conflicts_and_orphans_and_delete_lets_code_store_again(
        url: str, apps: tuple[Conveyor, Conveyor], clock: FrozenClock) -> None:
    shop, office = apps
    at_shop, at_office = await _schedulers(shop, office)
    await at_shop.declare(START)
    await at_office.declare(START)  # started last: its definition is stored

    async def statuses(app: Conveyor) -> dict[str, tuple[str, str, str]]:
        return {i.name: (i.status, i.expression, i.job) for i in await app.acron_schedules()}

    assert await statuses(shop) == {
        "reports": ("conflict", "*/30 * * * *", "office.report"),
        "cleanup": ("orphaned", "0 * * * *", "office.cleanup")}
    assert await statuses(office) == {
        "reports": ("active", "*/30 * * * *", "office.report"),
        "cleanup": ("active", "0 * * * *", "office.cleanup")}
    (conflict,) = [i for i in await shop.acron_schedules() if i.status == "conflict"]
    assert "expression: '*/30 * * * *' stored, '0 * * * *' declared" in conflict.conflicts
    plain = Conveyor(url, clock=clock)
    assert {i.status for i in await plain.acron_schedules()} == {"stored"}
    await plain.aclose()
    # An operator deletes the stored one; the office's leader stores its own at its next look.
    await office.adelete_cron("reports", actor="ops")
    assert raw(url, "SELECT actor, action, count FROM conveyor_audit ORDER BY id") == \
        [("worker", "redefine_cron", 1), ("ops", "delete_cron", 1)]
    assert (await statuses(shop))["reports"][0] == "unstored"
    await at_office.tick(START + timedelta(minutes=1))
    assert (await statuses(office))["reports"] == ("active", "*/30 * * * *", "office.report")
    assert (await statuses(shop))["reports"][0] == "conflict"
    with pytest.raises(InvalidSchedule, match="no stored cron schedule named 'nope'"):
        await shop.adelete_cron("nope")
    # Any app can pause a stored schedule it does not declare.
    await shop.apause_cron("cleanup", True)
    assert [i.paused for i in await office.acron_schedules() if i.name == "cleanup"] == [True]


async def test_a_row_stored_without_definition_is_completed_by_the_app_that_declares_it(
        url: str, apps: tuple[Conveyor, Conveyor]) -> None:
    shop, office = apps
    at_shop, _ = await _schedulers(shop, office)
    await at_shop.declare(START)
    raw(url, "UPDATE conveyor_schedules SET definition = NULL")  # as stored by older versions
    assert [i.status for i in await shop.acron_schedules()] == ["unstored"]
    assert await at_shop.tick(START.replace(hour=11, minute=0, second=5)) == 1
    assert [i.status for i in await shop.acron_schedules()] == ["active"]


async def test_a_worker_that_never_leads_still_stores_its_apps_schedules(
        apps: tuple[Conveyor, Conveyor], clock: FrozenClock) -> None:
    from conveyor.worker.leader import Leader

    shop, office = apps
    shop_worker = Leader(shop, await shop.storage(), "shop-1")
    office_worker = Leader(office, await office.storage(), "office-1")
    await shop_worker.run_once()
    await office_worker.run_once()
    assert shop_worker.is_leader and not office_worker.is_leader
    clock.set(START.replace(hour=11, minute=0, second=5))
    await shop_worker.run_once()
    # The office's worker started last, so its "reports" is the stored one.
    assert sorted(j.name for j in await office.ajobs()) == ["office.cleanup", "office.report"]


async def test_an_unreadable_stored_definition_neither_fires_nor_stops_the_leader(
        url: str, apps: tuple[Conveyor, Conveyor], clock: FrozenClock,
        caplog: pytest.LogCaptureFixture) -> None:
    from conveyor.worker.leader import Leader

    shop, _ = apps
    worker = Leader(shop, await shop.storage(), "shop-1")
    await worker.run_once()
    assert worker.is_leader
    raw(url, "UPDATE conveyor_schedules SET definition = '{not json' WHERE name = 'reports'")
    clock.set(START.replace(hour=11, minute=0, second=5))
    with caplog.at_level(logging.WARNING, logger="conveyor.cron"):
        await worker.run_once()  # the running leader: reports it, fires nothing, goes on
    assert "stored definition is invalid" in caplog.text
    (listed,) = [i for i in await shop.acron_schedules() if i.name == "reports"]
    assert (listed.status, listed.next_runs) == ("invalid", [])
    assert await shop.ajobs() == []
    # A worker that starts with code declaring it stores a readable definition again.
    newcomer = Leader(shop, await shop.storage(), "shop-2")
    await newcomer.run_once()
    (listed,) = [i for i in await shop.acron_schedules() if i.name == "reports"]
    assert listed.status == "active"
