"""The commerce kit tested the way a user of Conveyor tests their own jobs: through the pytest
plugin's fixtures (`conveyor_app` on a fresh database, `conveyor_clock` frozen at
`conveyor.testing.START`, `conveyor_harness` with `drain(until=...)` and the assertions),
with the kit's real code sending to the WhatsApp sandbox and syncing to the PrestaShop sandbox
on 127.0.0.1.

Each test moves time only by draining up to a moment, so what happens in between - the send
at its scheduled time, retries after their backoff, the cart scan's cron slots, a snooze to
the customer's morning, a shop's nightly sync with its batch callback - happens as a worker
would have done it, in time order. The sandboxes' own logs keep wall-clock times, so send
times are read from the kit's rows, which are written on the app's (frozen) clock. Runs on
SQLite and, as the plugin does when `CONVEYOR_TEST_PG` names a server (tests/commerce/
conftest.py defaults it), on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from conveyor import Conveyor, JobState
from conveyor.testing import START, Harness
from conveyor_commerce import Commerce, CommerceSettings, MessageStatus
from conveyor_commerce.carts.model import CartStatus
from conveyor_commerce.catalog.model import SyncStatus
from conveyor_commerce.sandbox import SandboxServer
from conveyor_commerce.sandbox.prestashop import PrestaShopSandbox
from conveyor_commerce.whatsapp.accounts import Account
from tests.commerce.catalog.conftest import KEY
from tests.commerce.conftest import NUMBER, TOKEN, sends_to

SECOND, MINUTE, HOUR = timedelta(seconds=1), timedelta(minutes=1), timedelta(hours=1)
TO, OTHER = "48600100200", "48600100201"
ITEMS = [{"name": "Coffee beans", "quantity": 2, "price": "12.50"}]
SETTINGS = CommerceSettings(reconcile_cron=None)
"""The kit's production settings (5-minute lead, 1/5/15-minute backoff, hour of idleness,
scan every 10 minutes, quiet hours 21:00-09:00), but for the per-minute reconcile sweep: a
drain visits each of its slots, 720 over a night, and nothing here needs it."""


@pytest.fixture
def shop(conveyor_app: Conveyor, sandbox: SandboxServer) -> Iterator[Commerce]:
    """The kit on the plugin's app (its database, its frozen clock). On PostgreSQL the
    plugin empties the kit's tables before each test (`conveyor_tables` in pyproject.toml)."""
    kit = Commerce(conveyor_app, settings=SETTINGS)
    yield kit
    kit.close()


@pytest.fixture
def account(shop: Commerce, sandbox: SandboxServer) -> Account:
    return shop.accounts.add("shop", NUMBER, TOKEN, base_url=sandbox.url, send_rate=80)


def test_the_fixtures_run_the_kit_on_the_frozen_clock(
        shop: Commerce, conveyor_harness: Harness, conveyor_backend: str) -> None:
    assert shop.now() == START == conveyor_harness.now()
    assert shop.app.url.startswith("sqlite" if conveyor_backend == "sqlite" else "postgresql")
    assert shop.messages.list() == [] and conveyor_harness.jobs() == []


def test_a_scheduled_message_is_sent_at_its_time_and_not_before(
        shop: Commerce, account: Account, sandbox: SandboxServer,
        conveyor_harness: Harness) -> None:
    h, due = conveyor_harness, START + 30 * MINUTE
    message = shop.messages.schedule("shop", "+48 600 100 200", "Your order shipped",
                                     offset="+30m")
    assert message.scheduled_at == due
    call = {"message_id": message.id, "account_id": account.id}
    h.assert_enqueued(shop.jobs.send, kwargs=call, within=30 * MINUTE, count=1)
    h.assert_not_enqueued(shop.jobs.send, within=30 * MINUTE - SECOND)
    h.drain(until=due - SECOND)
    assert sends_to(sandbox, TO) == 0
    assert shop.messages.get(message.id).status == MessageStatus.PENDING
    h.drain(until=due)
    sent = shop.messages.get(message.id)
    assert (sent.status, sent.sent_at, sent.retry_count) == (MessageStatus.SENT, due, 0)
    [record] = sandbox.state.sent_log()
    assert record.to.lstrip("+") == TO and record.body["text"]["body"] == "Your order shipped"
    h.assert_not_enqueued(shop.jobs.send)
    assert h.now() == due


def test_a_transient_error_is_retried_after_1_5_and_15_minutes(
        shop: Commerce, account: Account, sandbox: SandboxServer,
        conveyor_harness: Harness) -> None:
    h, due = conveyor_harness, START + 10 * MINUTE
    sandbox.state.inject("bare5xx", recipient=TO, times=3)  # a 502 from a proxy, 3 times
    message = shop.messages.schedule("shop", TO, "hi", offset="+10m")
    call = {"message_id": message.id, "account_id": account.id}
    h.drain(until=due)
    tries = [due]
    for wait in (MINUTE, 5 * MINUTE, 15 * MINUTE):
        retrying = h.assert_enqueued(shop.jobs.send, kwargs=call, within=wait, count=1,
                                     states=[JobState.RETRYABLE])[0]
        h.assert_not_enqueued(shop.jobs.send, kwargs=call, within=wait - SECOND)
        pending = shop.messages.get(message.id)
        assert (pending.status, pending.retry_count) == (MessageStatus.PENDING, len(tries))
        h.drain(until=wait - SECOND)
        assert shop.app.get(retrying.id).attempt == retrying.attempt == len(tries)
        h.drain(until=SECOND)
        tries.append(h.now())
    done = shop.messages.get(message.id)
    assert (done.status, done.retry_count, done.sent_at) == (MessageStatus.SENT, 3, tries[-1])
    assert tries[-1] - due == 21 * MINUTE
    job = shop.app.get(done.job_id or 0)
    assert (job.state, job.attempt) == (JobState.COMPLETED, 4)
    assert sends_to(sandbox, TO) == 1


def test_an_idle_cart_gets_one_reminder_at_the_scans_cron_slot(
        shop: Commerce, account: Account, sandbox: SandboxServer,
        conveyor_harness: Harness) -> None:
    h = conveyor_harness
    idle = shop.carts.create("shop", TO, ITEMS, currency="PLN").id
    busy = shop.carts.create("shop", OTHER, ITEMS, currency="PLN").id
    h.drain(until=55 * MINUTE)  # the scans of 09:10 ... 09:50 find no cart idle for an hour
    assert {shop.carts.get(c).status for c in (idle, busy)} == {CartStatus.ACTIVE}
    shop.carts.update(busy, coupon_code="SPRING")  # 09:55: its idle hour starts anew
    h.drain(until=START + HOUR - SECOND)
    assert (sends_to(sandbox, TO), sends_to(sandbox, OTHER)) == (0, 0)
    h.drain(until=START + HOUR + 50 * MINUTE)  # the 10:00 slot finds the idle cart; 10:10 ...
    reminded = shop.carts.get(idle)
    assert (reminded.status, reminded.reminder_sent_at) == (CartStatus.REMINDED, START + HOUR)
    assert shop.carts.get(busy).status == CartStatus.ACTIVE
    assert (sends_to(sandbox, TO), sends_to(sandbox, OTHER)) == (1, 0)
    every = tuple(JobState)
    assert [j.state for j in _reminders(h, shop, idle, account, every)] == [JobState.COMPLETED]
    assert _reminders(h, shop, busy, account, every) == []
    h.drain(until=10 * MINUTE)  # 11:00: the updated cart has idled an hour too
    assert shop.carts.get(busy).reminder_sent_at == START + 2 * HOUR
    assert (sends_to(sandbox, TO), sends_to(sandbox, OTHER)) == (1, 1)
    template = sandbox.state.sent_log()[0].body["template"]
    assert template["name"] == "abandoned_cart"
    assert template["components"][0]["parameters"][0]["text"] == "2 x Coffee beans"


def test_a_reminder_due_in_the_customers_night_waits_for_their_morning(
        shop: Commerce, account: Account, sandbox: SandboxServer,
        conveyor_harness: Harness) -> None:
    h, buenos_aires = conveyor_harness, "5491123456789"  # the number's zone: UTC-3
    night = shop.carts.create("shop", buenos_aires, ITEMS, currency="ARS").id
    day = shop.carts.create("shop", TO, ITEMS, currency="PLN").id  # Warsaw: UTC+1
    morning = START + 3 * HOUR  # 09:00 in Buenos Aires, 12:00 UTC
    h.drain(until=HOUR + MINUTE)  # the 10:00 UTC slot: 07:00 in Buenos Aires, 11:00 in Warsaw
    sent = shop.carts.get(day).reminder_sent_at  # paced 1.1/80 s after the account's other job
    assert sent is not None and START + HOUR < sent < START + HOUR + SECOND
    assert shop.carts.get(night).status == CartStatus.ABANDONED
    [job] = h.assert_enqueued(shop.jobs.remind_cart,
                              kwargs={"cart_id": night, "account_id": account.id},
                              within=2 * HOUR - MINUTE, states=[JobState.SCHEDULED])
    assert job.run_at == morning  # snoozed once, to the morning: no polling meanwhile
    h.drain(until=morning - SECOND)
    assert sends_to(sandbox, buenos_aires) == 0
    assert shop.carts.get(night).reminder_sent_at is None
    h.drain(until=SECOND)
    assert (sends_to(sandbox, buenos_aires), sends_to(sandbox, TO)) == (1, 1)
    assert shop.carts.get(night).reminder_sent_at == morning


def test_one_order_notification_per_order_and_status(
        shop: Commerce, account: Account, sandbox: SandboxServer,
        conveyor_harness: Harness) -> None:
    h, job_type = conveyor_harness, shop.jobs.order_notification
    cart = shop.carts.create("shop", TO, ITEMS, currency="EUR").id
    shop.carts.mark_ordered(cart, order_id="PS-1001")
    shipped = {"order_id": "PS-1001", "status": "shipped", "account_id": account.id,
               "phone": TO}
    first = shop.carts.notify_order("PS-1001", "shipped")
    assert shop.carts.notify_order("PS-1001", "shipped").id == first.id
    h.assert_enqueued(job_type, kwargs=shipped, within=0, count=1)
    h.assert_not_enqueued(job_type, kwargs={**shipped, "status": "delivered"})
    h.drain()
    h.assert_not_enqueued(job_type)
    assert shop.carts.notify_order("PS-1001", "shipped").id == first.id  # unique in any state
    h.assert_not_enqueued(job_type)
    assert sends_to(sandbox, TO) == 1
    [record] = sandbox.state.sent_log()
    assert [p["text"] for p in record.body["template"]["components"][0]["parameters"]] == \
        ["PS-1001", "shipped"]


def test_an_order_notification_fails_after_3_attempts_on_the_backoff(
        shop: Commerce, account: Account, sandbox: SandboxServer,
        conveyor_harness: Harness) -> None:
    h, job_type = conveyor_harness, shop.jobs.order_notification
    sandbox.state.inject("error", code=131000, recipient=OTHER, times=5)
    call = {"order_id": "PS-2", "status": "delivered", "account_id": account.id,
            "phone": OTHER}
    job = shop.carts.notify_order("PS-2", "delivered", account="shop", phone="+48600100201")
    h.drain()
    for wait in (MINUTE, 5 * MINUTE):
        h.assert_enqueued(job_type, kwargs=call, within=wait, states=[JobState.RETRYABLE])
        h.assert_not_enqueued(job_type, kwargs=call, within=wait - SECOND)
        attempt = shop.app.get(job.id).attempt
        h.drain(until=wait - SECOND)
        assert shop.app.get(job.id).attempt == attempt  # not before its time
        h.drain(until=SECOND)
        assert shop.app.get(job.id).attempt == attempt + 1
    ended = shop.app.get(job.id)
    assert (ended.state, ended.attempt) == (JobState.DISCARDED, 3)
    assert "131000" in ended.errors[-1].message
    h.assert_not_enqueued(job_type)
    h.drain(until=15 * MINUTE)  # where a 3rd backoff step would be: nothing comes back
    [message] = shop.messages.list()
    assert (message.status, message.error_code, message.retry_count) == \
        (MessageStatus.FAILED, 131000, 2)
    assert sends_to(sandbox, OTHER) == 0 and shop.app.get(job.id).attempt == 3


def test_the_nightly_catalog_sync_starts_at_2_in_the_shops_zone_and_logs_its_batch(
        shop: Commerce, conveyor_harness: Harness) -> None:
    h, jobs = conveyor_harness, shop.catalog.jobs
    boots = shop.catalog.add_category("Boots")
    for n in range(3):
        shop.catalog.add_product(f"SKU-{n}", f"Boot {n}", "99.00", category=boots.id,
                                 stock=n + 1)
    with PrestaShopSandbox() as server:
        server.shop.keys.add(KEY)
        target = shop.catalog.add_shop("main", server.url, KEY, rate_limit="5000/s",
                                       timezone="America/Los_Angeles")  # UTC-8 in January
        night = START + HOUR  # the nightly check's 10:00 UTC slot: 02:00 in Los Angeles
        h.drain(until=night - SECOND)  # its slots at 09:15, 09:30, 09:45 start nothing
        assert server.shop.find("products") == []
        h.assert_not_enqueued(jobs.nightly_sync, states=tuple(JobState))
        h.drain(until=night + MINUTE)  # the batch's syncs, spaced by the shop's rate
        [nightly] = h.enqueued_jobs(jobs.nightly_sync, args=(target.id, "2030-01-07"),
                                    states=tuple(JobState))
        assert (nightly.state, nightly.run_at) == (JobState.COMPLETED, night)
        remote = sorted((p["reference"], p["quantity"]) for p in server.shop.find("products"))
        assert remote == [("SKU-0", "1"), ("SKU-1", "2"), ("SKU-2", "3")]
        counts = shop.catalog.counts("main")
        assert counts[SyncStatus.SYNCED.value] == sum(counts.values()) == 3
        summaries = {e.message for e in shop.catalog.log("main", entity="batch")}
        assert "all 3 products synced" in summaries  # the batch's on_success callback
        h.drain(until=15 * MINUTE)  # 02:15 local: past the window, no second full sync
        assert len(h.enqueued_jobs(jobs.nightly_sync, states=tuple(JobState))) == 1
        assert len(server.shop.find("products")) == 3


def _reminders(h: Harness, shop: Commerce, cart_id: int, account: Account,
               states: tuple[JobState, ...]) -> list[Any]:
    return h.enqueued_jobs(shop.jobs.remind_cart,
                           kwargs={"cart_id": cart_id, "account_id": account.id},
                           states=states)
