"""Two applications on one database: every stored schedule fires from its stored definition
whichever application leads; a name declared differently is reported, never overwritten;
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
        apps: tuple[Conveyor, Conveyor], caplog: pytest.LogCaptureFixture) -> None:
    shop, office = apps
    at_shop, at_office = await _schedulers(shop, office)
    await at_shop.declare(START)  # the shop's worker starts first
    with caplog.at_level(logging.WARNING, logger="conveyor.cron"):
        await at_office.declare(START)
    (warning,) = [r.getMessage() for r in caplog.records]
    assert "cron schedule 'reports' is stored with another definition" in warning
    assert "expression: '0 * * * *' stored, '*/30 * * * *' declared" in warning
    assert "job.name: 'shop.report' stored, 'office.report' declared" in warning
    assert "conveyor cron delete reports" in warning
    # The shop leads: it fires the office's schedule too, though it does not know the job.
    assert await at_shop.tick(START.replace(hour=11, minute=0, second=5)) == 2
    # The office leads: the stored hourly "reports" fires, not the office's */30 one.
    assert await at_office.tick(START.replace(hour=11, minute=30, second=5)) == 0
    assert await at_office.tick(START.replace(hour=12, minute=0, second=5)) == 2
    fired = sorted((j.meta["slot"][11:16], j.name, j.queue, list(j.args))
                   for j in await shop.ajobs())
    assert fired == [("11:00", "office.cleanup", "office", []),
                     ("11:00", "shop.report", "shop", ["hourly"]),
                     ("12:00", "office.cleanup", "office", []),
                     ("12:00", "shop.report", "shop", ["hourly"])]
    # Inserting a job it does not know burns nothing: it waits for a worker that knows it.
    assert await shop.adrain(queues=["shop"]) == 2
    assert {(j.name, j.state, j.attempt) for j in await shop.ajobs()} == {
        ("shop.report", JobState.COMPLETED, 1), ("office.cleanup", JobState.AVAILABLE, 0)}
    assert await office.adrain(queues=["office"]) == 2
    assert {j.state for j in await office.ajobs()} == {JobState.COMPLETED}


async def test_listings_show_conflicts_and_orphans_and_delete_lets_code_store_again(
        url: str, apps: tuple[Conveyor, Conveyor], clock: FrozenClock) -> None:
    shop, office = apps
    at_shop, at_office = await _schedulers(shop, office)
    await at_shop.declare(START)
    await at_office.declare(START)

    async def statuses(app: Conveyor) -> dict[str, tuple[str, str, str]]:
        return {i.name: (i.status, i.expression, i.job) for i in await app.acron_schedules()}

    assert await statuses(shop) == {"reports": ("active", "0 * * * *", "shop.report"),
                                    "cleanup": ("orphaned", "0 * * * *", "office.cleanup")}
    assert await statuses(office) == {"reports": ("conflict", "0 * * * *", "shop.report"),
                                      "cleanup": ("active", "0 * * * *", "office.cleanup")}
    (conflict,) = [i for i in await office.acron_schedules() if i.status == "conflict"]
    assert "expression: '0 * * * *' stored, '*/30 * * * *' declared" in conflict.conflicts
    plain = Conveyor(url, clock=clock)
    assert {i.status for i in await plain.acron_schedules()} == {"stored"}
    await plain.aclose()
    # An operator deletes the stored one; the office's leader stores its own at its next look.
    await office.adelete_cron("reports", actor="ops")
    assert raw(url, "SELECT actor, action, count FROM conveyor_audit") == \
        [("ops", "delete_cron", 1)]
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
    assert sorted(j.name for j in await office.ajobs()) == ["office.cleanup", "shop.report"]


async def test_an_unreadable_stored_definition_neither_fires_nor_stops_the_leader(
        url: str, apps: tuple[Conveyor, Conveyor], clock: FrozenClock,
        caplog: pytest.LogCaptureFixture) -> None:
    from conveyor.worker.leader import Leader

    shop, _ = apps
    worker = Leader(shop, await shop.storage(), "shop-1")
    await worker.run_once()
    raw(url, "UPDATE conveyor_schedules SET definition = '{not json' WHERE name = 'reports'")
    clock.set(START.replace(hour=11, minute=0, second=5))
    newcomer = Leader(shop, await shop.storage(), "shop-2")
    with caplog.at_level(logging.WARNING, logger="conveyor.cron"):
        await newcomer.run_once()  # stores its schedules at start: sees the bad row
        await worker.run_once()
    assert newcomer.is_leader or worker.is_leader
    assert "stored definition is invalid" in caplog.text
    (listed,) = [i for i in await shop.acron_schedules() if i.name == "reports"]
    assert (listed.status, listed.next_runs) == ("invalid", [])
    assert await shop.ajobs() == []
