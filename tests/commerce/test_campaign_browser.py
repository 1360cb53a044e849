"""The Campaigns page in a real headless chromium (the dashboard tests' Playwright set-up),
on both backends: upload a CSV, read the preview's counts, start the campaign, pause and
resume it, watch it finish, filter its recipients - with no console error; and the page's
screenshots for the docs."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conveyor import Conveyor, FrozenClock
from conveyor_commerce import CampaignStatus, Commerce
from conveyor_commerce.sandbox import SandboxServer
from tests.commerce.conftest import NUMBER, TEST_SETTINGS, TOKEN, _truncate_commerce, drain
from tests.commerce.test_pages_browser import browser, served
from tests.conftest import FAST
from tests.web.live import screenshots

__all__ = ["browser"]

CSV = "phone,name\n" + "".join(f"+48 600 000 {n:03d},Customer {n}\n" for n in range(40)) + \
    "12345,Nobody\n+48 600 000 001,Twice\nnot a number,Eve\n"


def _drain_elsewhere(kit: Commerce) -> None:
    """Run the kit's jobs on another app object of the same database and clock, in this
    thread, closed here: the test's own thread runs Playwright's event loop."""
    other = Commerce(Conveyor(kit.app.url, clock=kit.app.clock, settings=FAST),
                     settings=TEST_SETTINGS)
    try:
        drain(other)
    finally:
        other.close()
        other.app.close()


@pytest.fixture
def own_kit(url: str, clock: FrozenClock) -> Iterator[Commerce]:
    """The kit on its own app, closed from a thread of its own: the dashboard's threads use
    the app's blocking API, and closing their loops from the test's thread - which runs
    Playwright's event loop - is refused."""
    _truncate_commerce(url)
    kit = Commerce(Conveyor(url, clock=clock, settings=FAST), settings=TEST_SETTINGS)
    yield kit
    closer = threading.Thread(target=lambda: (kit.close(), kit.app.close()))
    closer.start()
    closer.join(timeout=60)


def test_a_campaign_from_a_csv_upload(own_kit: Commerce, sandbox: SandboxServer,
                                      browser: Any, tmp_path: Path) -> None:
    kit = own_kit
    kit.accounts.add("shop", NUMBER, TOKEN, base_url=sandbox.url, send_rate=80)
    kit.campaigns.opt_out(["+48 600 000 039"], reason="STOP")
    with served(kit, browser) as (live, errors):
        live.log_in(path="/campaigns/new")
        page = live.page
        page.fill("input[name=name]", "Spring sale")
        page.fill("input[name=template]", "hello_world")
        page.set_input_files("input[name=recipients]", files=[{
            "name": "customers.csv", "mimeType": "text/csv", "buffer": CSV.encode()}])
        page.click("#check")
        counts = {name: page.inner_text(f'#preview [data-count="{name}"]')
                  for name in ("valid", "invalid", "opted_out", "duplicates")}
        assert counts == {"valid": "39", "invalid": "2", "opted_out": "1", "duplicates": "1"}
        assert "12345" in page.inner_text("#invalid-rows")
        assert kit.campaigns.list() == []  # the preview stored nothing
        page.click("#start")
        assert "39 recipients to send" in live.notice()
        [campaign] = kit.campaigns.list()
        page.click("#pause")
        assert kit.campaigns.get(campaign.id).status == CampaignStatus.PAUSED
        page.click("#resume")
        runner = threading.Thread(target=_drain_elsewhere, args=(kit,))
        runner.start()
        runner.join(timeout=120)
        live.goto(f"/campaigns/{campaign.id}")
        assert page.inner_text('#progress [data-count="sent"]') == "39"
        assert page.get_attribute("#progress progress", "value") == "100.0"
        page.select_option("select[name=status]", ["skipped"])
        page.click("#filters button[type=submit]")
        assert "status=skipped" in page.url
        assert page.locator("#recipients tr[data-recipient]").count() == 3
        assert "opted out" in page.inner_text("#recipients")
        live.goto("/campaigns/")
        row = page.locator(f'#campaigns tr[data-campaign="{campaign.id}"]')
        assert row.get_attribute("data-status") == "completed"
        if kit.app.url.startswith("sqlite"):  # one backend's: runs in parallel never collide
            folder = screenshots(tmp_path)
            page.screenshot(path=folder / "campaigns.png", full_page=True)
            live.goto(f"/campaigns/{campaign.id}")
            page.screenshot(path=folder / "campaign.png", full_page=True)
        assert errors == []
    assert len(sandbox.state.sent_log()) == 39
