"""The demo's broadcast campaign: a template to a couple of thousand sandbox numbers, sent
from a number of its own at that number's rate (so the campaign's pace is visible: its
progress climbs by `RATE` a second, never faster). The list holds what real lists hold: a few
invalid rows, duplicates, opted-out numbers (all skipped before sending) and numbers that are
not on WhatsApp (failed outcomes)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from conveyor_commerce.campaigns.model import Campaign, CampaignStatus
from conveyor_commerce.demo.sandbox_control import WhatsAppSandbox
from conveyor_commerce.errors import AccountNotFound
from conveyor_commerce.kit import Commerce
from conveyor_commerce.whatsapp.payloads import Template

ACCOUNT = "demo-broadcast"
PHONE_NUMBER_ID = "106540352242923"
TOKEN = "demo-sandbox-token"
RATE = 20.0
"""Messages per second of the broadcast number (2,000 recipients: about 100 s)."""
RECIPIENTS = 2_000
INVALID = ["12345", "not a number", "+1 555"]
OPTED_OUT = [f"48601000{n:03d}" for n in range(0, 5)]
NOT_ON_WHATSAPP = [f"48601000{n:03d}" for n in range(10, 13)]


@dataclasses.dataclass(frozen=True, slots=True)
class CampaignSample:
    campaign: Campaign

    def describe(self) -> str:
        c = self.campaign
        return (f"campaign           {c.name!r}: {c.recipients} recipients at {RATE:.0f}/s "
                f"({c.invalid} invalid, {c.duplicates} duplicates, {c.opted_out} opted out "
                "skipped)")


def seed(kit: Commerce, sandbox: WhatsAppSandbox) -> CampaignSample:
    sandbox.add_number(PHONE_NUMBER_ID, TOKEN, throughput=80)
    for number in NOT_ON_WHATSAPP:
        sandbox.inject("error", code=131026, times=1_000_000, recipient=number)
    _account(kit, sandbox.url)
    kit.campaigns.opt_out(["+" + n for n in OPTED_OUT], reason="replied STOP")
    campaign = kit.campaigns.create("Spring sale broadcast", ACCOUNT,
                                    Template("hello_world", "en_US"), _recipients())
    return CampaignSample(campaign)


def _account(kit: Commerce, sandbox_url: str) -> None:
    try:
        kit.accounts.get(ACCOUNT)
    except AccountNotFound:
        kit.accounts.add(ACCOUNT, PHONE_NUMBER_ID, TOKEN, base_url=sandbox_url,
                         send_rate=RATE)
        return
    kit.accounts.update(ACCOUNT, base_url=sandbox_url, send_rate=RATE)
    kit.accounts.rotate_token(ACCOUNT, TOKEN)


def _recipients() -> Iterator[str]:
    """Streamed, as a big list would be: numbers, then the bad rows and some repeats."""
    for n in range(RECIPIENTS):
        yield f"+48601{n:06d}"
    yield from INVALID
    for n in range(0, 100, 10):
        yield f"+48601{n:06d}"


def status(kit: Commerce) -> str:
    """The running (else the latest) campaign's progress, for the demo's status line."""
    found = kit.campaigns.list(statuses=[CampaignStatus.RUNNING], limit=1) or \
        kit.campaigns.list(limit=1)
    if not found:
        return "campaign: none"
    c = found[0]
    return (f"campaign {c.status.value}: {c.sent} sent, {c.failed} failed, "
            f"{c.pending} pending")
