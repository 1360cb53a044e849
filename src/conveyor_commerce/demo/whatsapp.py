"""The demo's WhatsApp sample: one sending account pointed at the sandbox, and a round of
scheduled messages - most go out within seconds, a few fail for reasons Meta gives (so the
dashboard has failures to look at and retry), two wait for later (to edit or cancel).

The sandbox is told how to treat the failing recipients before anything is sent: one is not
on WhatsApp (131026, a failure no retry fixes), one gets "something went wrong" twice (131000,
retried with backoff, then failed; the Retry button sends it), one gets a bare 502 once
(retried, then sent), one has no open service window for plain text (131047).
"""

from __future__ import annotations

import dataclasses

from conveyor_commerce.demo.sandbox_control import WhatsAppSandbox
from conveyor_commerce.errors import AccountNotFound
from conveyor_commerce.kit import Commerce
from conveyor_commerce.messages.model import MessageFilter, MessageStatus
from conveyor_commerce.whatsapp.accounts import Account
from conveyor_commerce.whatsapp.payloads import Template, Text

ACCOUNT = "demo-shop"
PHONE_NUMBER_ID = "106540352242922"
TOKEN = "demo-sandbox-token"
"""The sandbox's fake token (a real account's token comes from Meta and stays secret)."""
SEND_RATE = 5.0
"""Scheduled messages per second of the demo account (the campaign has its own pace)."""

CUSTOMERS = [f"48600100{n:03d}" for n in range(200, 208)]
NOT_ON_WHATSAPP = "48600100290"
FLAKY_TWICE = "48600100291"
BAD_GATEWAY_ONCE = "48600100292"
CLOSED_WINDOW = "48600100293"


@dataclasses.dataclass(frozen=True, slots=True)
class WhatsAppSample:
    account: Account
    scheduled: int
    failing: int
    later: int

    def describe(self) -> str:
        return (f"messages           {self.scheduled} scheduled from account "
                f"{self.account.name!r} ({self.failing} will fail, {self.later} due later)")


def seed(kit: Commerce, sandbox: WhatsAppSandbox) -> WhatsAppSample:
    """The account (created, or pointed at this run's sandbox) and a new round of messages."""
    sandbox.add_number(PHONE_NUMBER_ID, TOKEN, throughput=80)
    account = _account(kit, sandbox.url)
    _misbehave(sandbox)
    scheduled = _schedule(kit, account)
    return WhatsAppSample(account, scheduled, failing=3, later=2)


def _account(kit: Commerce, sandbox_url: str) -> Account:
    try:
        kit.accounts.get(ACCOUNT)
    except AccountNotFound:
        return kit.accounts.add(ACCOUNT, PHONE_NUMBER_ID, TOKEN, display_number="15550783881",
                                base_url=sandbox_url, send_rate=SEND_RATE)
    kit.accounts.update(ACCOUNT, base_url=sandbox_url, send_rate=SEND_RATE)
    return kit.accounts.rotate_token(ACCOUNT, TOKEN)  # also resumes a stopped account


def _misbehave(sandbox: WhatsAppSandbox) -> None:
    sandbox.inject("error", code=131026, times=1_000_000, recipient=NOT_ON_WHATSAPP)
    sandbox.inject("error", code=131000, times=2, recipient=FLAKY_TWICE)
    sandbox.inject("bare5xx", times=1, recipient=BAD_GATEWAY_ONCE)
    sandbox.close_window([CLOSED_WINDOW])


def _schedule(kit: Commerce, account: Account) -> int:
    messages = kit.messages
    for i, to in enumerate(CUSTOMERS):
        update = Template("order_update", "en_US", body=("Alex", f"A{1001 + i}"))
        messages.schedule(account.id, "+" + to, update, offset=2 + i)
    messages.schedule(account.id, "+" + NOT_ON_WHATSAPP, Text("Your order A1090 shipped"),
                      offset=4)
    messages.schedule(account.id, "+" + FLAKY_TWICE, Text("Your order A1091 shipped"),
                      offset=5, max_retries=1)
    messages.schedule(account.id, "+" + BAD_GATEWAY_ONCE, Text("Your order A1092 shipped"),
                      offset=6)
    messages.schedule(account.id, "+" + CLOSED_WINDOW, Text("Still interested?"), offset=7)
    messages.schedule(account.id, "+" + CUSTOMERS[0], Text("Your parcel arrives tomorrow"),
                      offset="+15m")
    messages.schedule(account.id, "+" + CUSTOMERS[1], Template("hello_world", "en_US"),
                      offset="+2h")
    return len(CUSTOMERS) + 6


def status(kit: Commerce) -> str:
    """Messages by status, for the demo's status line."""
    counts = {s: kit.messages.count(MessageFilter(statuses=[s]))
              for s in (MessageStatus.SENT, MessageStatus.FAILED, MessageStatus.PENDING)}
    return "WhatsApp: " + ", ".join(f"{n} {s.value}" for s, n in counts.items())
