"""Broadcast campaigns against the sandbox, on both backends: each recipient gets exactly one
outcome, the counters match the recipients table, the number's rate holds, and pause, cancel,
retries and bad input behave as documented."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from conveyor import Conveyor
from conveyor_commerce import (
    Campaign,
    CampaignStatus,
    Commerce,
    RecipientStatus,
    Template,
)
from conveyor_commerce.sandbox import SandboxServer
from conveyor_commerce.whatsapp.accounts import Account
from tests.commerce.conftest import TEST_SETTINGS, TOKEN, _truncate_commerce
from tests.conftest import FAST

C, R = CampaignStatus, RecipientStatus
FAST_NUMBER = "306540352242922"
OTHER_NUMBER = "406540352242922"
HELLO = Template("hello_world", "en_US")


def numbers(count: int, start: int = 0) -> list[str]:
    """Valid Polish mobile numbers, E.164 digits."""
    return [f"48600{start + i:06d}" for i in range(count)]


@pytest.fixture
def live(url: str) -> Iterator[Commerce]:
    """The kit on an app with the real clock (campaigns pace in real time)."""
    _truncate_commerce(url)
    app = Conveyor(url, settings=FAST)
    kit = Commerce(app, settings=TEST_SETTINGS)
    kit.migrate()
    yield kit
    kit.close()
    app.close()


@pytest.fixture
def fast(live: Commerce, sandbox: SandboxServer) -> Account:
    sandbox.state.add_number(FAST_NUMBER, TOKEN, throughput=1000)
    return live.accounts.add("fast", FAST_NUMBER, TOKEN, base_url=sandbox.url,
                             throughput=1000, send_rate=1000)


def run_until_final(kit: Commerce, campaign_id: int, timeout: float = 60) -> Campaign:
    """Run the kit's jobs here (bursts) until the campaign has ended."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        kit.app.drain([kit.settings.queue])
        campaign = kit.campaigns.get(campaign_id)
        if campaign.status in (C.COMPLETED, C.FAILED, C.CANCELLED) \
                and campaign.summary is not None:
            return campaign
        time.sleep(0.05)
    raise AssertionError(f"campaign {campaign_id} still {kit.campaigns.get(campaign_id)}")


def counters(campaign: Campaign) -> dict[str, int]:
    return {"sent": campaign.sent, "failed": campaign.failed, "skipped": campaign.skipped,
            "pending": campaign.pending}


def tallied(kit: Commerce, campaign_id: int) -> dict[str, int]:
    found = kit.campaigns.tally(campaign_id)
    return {"sent": found["sent"], "failed": found["failed"], "skipped": found["skipped"],
            "pending": found["pending"] + found["processing"]}


def test_a_small_campaign_sends_each_valid_number_once(live: Commerce, fast: Account,
                                                       sandbox: SandboxServer) -> None:
    live.campaigns.opt_out(["+48 600 000 003"], reason="asked by chat")
    done: list[Campaign] = []
    live.campaigns.on_success(done.append)
    given = [*numbers(10), "+48600000001", "48 600 000 002", "not a number", "+1 555"]
    campaign = live.campaigns.create("spring sale", "fast", HELLO, given, chunk_size=4)
    assert (campaign.status, campaign.recipients, campaign.invalid, campaign.duplicates,
            campaign.opted_out, campaign.pending) == (C.RUNNING, 12, 2, 2, 1, 9)
    ended = run_until_final(live, campaign.id)
    assert ended.status == C.COMPLETED and counters(ended) == tallied(live, campaign.id)
    assert counters(ended) == {"sent": 9, "failed": 0, "skipped": 3, "pending": 0}
    log = sandbox.state.sent_log()
    assert sorted(r.to for r in log) == sorted(set(numbers(10)) - {"48600000003"})
    rows = live.campaigns.recipients(campaign.id, statuses=[R.SENT], limit=1000)
    assert {r.wamid for r in rows} == {r.wamid for r in log}
    skipped = {r.phone: r.reason for r in live.campaigns.recipients(
        campaign.id, statuses=[R.SKIPPED])}
    assert skipped["48600000003"] == "opted out"
    assert sum(1 for reason in skipped.values() if reason.startswith("invalid number")) == 2
    assert ended.summary is not None and ended.summary["sent"] == 9
    assert [c.id for c in done] == [campaign.id]
