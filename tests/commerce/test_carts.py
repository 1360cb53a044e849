"""Carts: abandoned-cart reminders sent exactly once through the kit's send path (against the
sandbox), never to a cart that changed or was ordered, never at night; statistics; bad input
refused with nothing stored."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from conveyor import Conveyor, FrozenClock, JobFilter, JobState
from conveyor_commerce import Commerce, CommerceSettings, MessageStatus, tables
from conveyor_commerce.carts.model import CartStatus
from conveyor_commerce.errors import CartNotFound, CommerceError, InvalidCart, InvalidTransition
from conveyor_commerce.jobs import REMIND_CART
from conveyor_commerce.sandbox import SandboxServer
from conveyor_commerce.whatsapp.accounts import Account
from tests.commerce.conftest import (
    NUMBER,
    TEST_SETTINGS,
    TOKEN,
    _truncate_commerce,
    advance,
    drain,
    sends_to,
    served,
)
from tests.conftest import FAST

C = CartStatus
ITEMS = [{"name": "Coffee beans", "quantity": 2, "price": "12.50", "sku": "C-1"},
         {"name": "Mug", "quantity": 1, "price": "9.90"}]
HOUR = 3600
COUNT = 16


def new_cart(kit: Commerce, phone: str, **extra: Any) -> int:
    return kit.carts.create("shop", phone, ITEMS, currency="pln", **extra).id


def reminder_jobs(kit: Commerce) -> list[Any]:
    return kit.app.jobs(JobFilter(names=[REMIND_CART], limit=1000))


def test_an_idle_cart_gets_one_reminder_with_its_items_and_total(
        kit: Commerce, account: Account, sandbox: SandboxServer) -> None:
    cart = kit.carts.create("shop", "+48 600 100 200", ITEMS, currency="pln")
    assert (cart.status, cart.total, cart.currency) == (C.ACTIVE, Decimal("34.90"), "PLN")
    fresh = new_cart(kit, "48600100201")
    advance(kit, HOUR - 1)
    kit.carts.update(fresh, coupon_code="SPRING")  # its idle time starts anew
    advance(kit, 2)
    assert kit.carts.scan() == {"abandoned": 1, "batches": 1}
    assert kit.carts.get(cart.id).status == C.ABANDONED
    assert kit.carts.get(fresh).status == C.ACTIVE
    drain(kit)
    reminded = kit.carts.get(cart.id)
    assert reminded.status == C.REMINDED and reminded.reminder_sent_at == kit.now()
    message = kit.messages.get(reminded.reminder_message_id or 0)
    assert message.status == MessageStatus.SENT and message.sent_at == reminded.reminder_sent_at
    body = sandbox.state.sent_log()[0].body["template"]
    assert body["name"] == "abandoned_cart"
    params = body["components"][0]["parameters"]
    assert params[0] == {"type": "text", "text": "2 x Coffee beans, 1 x Mug"}
    assert params[1]["currency"] == {"fallback_value": "34.90 PLN", "code": "PLN",
                                     "amount_1000": 34900}
    advance(kit, 2 * HOUR)
    assert kit.carts.scan()["abandoned"] == 1  # the other cart, now idle too
    drain(kit)
    assert (sends_to(sandbox, "48600100200"), sends_to(sandbox, "48600100201")) == (1, 1)
    assert kit.carts.scan() == {"abandoned": 0, "batches": 0}
    ordered = kit.carts.mark_ordered(cart.id, order_id="A-100")
    assert ordered.status == C.RECOVERED and ordered.recovered_at == kit.now()


def test_overlapping_scans_and_a_rerun_job_send_one_reminder_per_cart(
        kit: Commerce, account: Account, sandbox: SandboxServer) -> None:
    carts = [new_cart(kit, f"486001{i:05d}") for i in range(COUNT)]
    advance(kit, HOUR + 1)
    results: list[dict[str, int]] = []
    barrier = threading.Barrier(2)

    def scan() -> None:
        barrier.wait()
        results.append(kit.carts.scan())

    threads = [threading.Thread(target=scan) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r["abandoned"] for r in results) == COUNT  # each cart marked by one scan
    jobs = reminder_jobs(kit)
    assert len(jobs) == COUNT and {j.kwargs["cart_id"] for j in jobs} == set(carts)
    again = kit.jobs.remind_cart.enqueue(cart_id=carts[0], account_id=account.id)
    assert again.id in {j.id for j in jobs}  # unique per cart: the waiting job comes back
    drain(kit)
    # A duplicate job (a unique key's window passed, a job enqueued by hand) sends nothing.
    late = kit.jobs.remind_cart.enqueue(cart_id=carts[1], account_id=account.id)
    drain(kit)
    assert kit.app.get(late.id).result["skipped"] == "already reminded"
    assert [sends_to(sandbox, f"486001{i:05d}") for i in range(COUNT)] == [1] * COUNT
    assert {kit.carts.get(c).status for c in carts} == {C.REMINDED}


def test_a_cart_updated_or_ordered_after_the_scan_gets_no_reminder(
        kit: Commerce, account: Account, sandbox: SandboxServer) -> None:
    updated, ordered, _idle = (new_cart(kit, f"4860020000{i}") for i in range(3))
    advance(kit, HOUR + 1)
    assert kit.carts.scan()["abandoned"] == 3
    kit.carts.update(updated, items=[{"name": "Tea", "quantity": 3, "price": "4"}])
    kit.carts.mark_ordered(ordered, order_id="B-7")
    drain(kit)
    assert [sends_to(sandbox, f"4860020000{i}") for i in range(3)] == [0, 0, 1]
    assert kit.carts.get(updated).status == C.ACTIVE
    assert kit.carts.get(updated).total == Decimal("12.00")
    assert kit.carts.get(ordered).status == C.ORDERED  # ordered without a reminder
    skipped = {j.kwargs["cart_id"]: j.result for j in reminder_jobs(kit)}
    assert "active" in skipped[updated]["skipped"] and "ordered" in skipped[ordered]["skipped"]
    advance(kit, HOUR + 1)  # the updated cart idles again: now it is reminded, once
    assert kit.carts.scan()["abandoned"] == 1
    drain(kit)
    assert sends_to(sandbox, "48600200000") == 1


@pytest.fixture
def night_kit(url: str, sandbox: SandboxServer) -> Iterator[Commerce]:
    """The kit with quiet hours 21:00-09:00, its clock at 22:30 in Warsaw (21:30 UTC)."""
    _truncate_commerce(url)
    clock = FrozenClock(datetime(2026, 1, 15, 21, 30, tzinfo=UTC))
    app = Conveyor(url, clock=clock, settings=FAST)
    kit = Commerce(app, settings=CommerceSettings(
        **{**_fields(TEST_SETTINGS), "quiet_hours": (time(21), time(9))}))
    kit.accounts.add("shop", NUMBER, TOKEN, base_url=sandbox.url, send_rate=80)
    yield kit
    kit.close()
    app.close()


def _fields(settings: CommerceSettings) -> dict[str, Any]:
    return {name: getattr(settings, name) for name in settings.__dataclass_fields__}


def test_a_reminder_due_at_night_waits_for_the_customers_morning(
        night_kit: Commerce, sandbox: SandboxServer) -> None:
    kit = night_kit
    warsaw = new_cart(kit, "48600300300")  # Poland: 23:30 local when the scan runs
    tokyo = new_cart(kit, "48600300301", time_zone="Asia/Tokyo")  # overridden: 08:30 local
    new_york = new_cart(kit, "12125550123")  # New York: 17:30 local, not quiet
    advance(kit, HOUR + 1)
    assert kit.carts.scan()["abandoned"] == 3
    drain(kit)
    assert [sends_to(sandbox, n) for n in ("48600300300", "48600300301", "12125550123")] \
        == [0, 0, 1]
    jobs = {j.kwargs["cart_id"]: j for j in reminder_jobs(kit)}
    # Snoozed once to the local morning (one wake-up, no polling), no attempt used.
    morning_warsaw = datetime(2026, 1, 16, 8, 0, tzinfo=UTC)  # 09:00 CET
    morning_tokyo = datetime(2026, 1, 16, 0, 0, tzinfo=UTC)  # 09:00 JST
    assert (jobs[warsaw].state, jobs[warsaw].run_at) == (JobState.SCHEDULED, morning_warsaw)
    assert (jobs[tokyo].state, jobs[tokyo].run_at) == (JobState.SCHEDULED, morning_tokyo)
    assert jobs[warsaw].attempt <= 1 and jobs[new_york].state == JobState.COMPLETED
    kit.app.clock.set(morning_tokyo - timedelta(seconds=1))  # type: ignore[attr-defined]
    drain(kit)
    assert sends_to(sandbox, "48600300301") == 0
    advance(kit, 1)
    drain(kit)
    assert (sends_to(sandbox, "48600300301"), sends_to(sandbox, "48600300300")) == (1, 0)
    kit.app.clock.set(morning_warsaw)  # type: ignore[attr-defined]
    drain(kit)
    assert sends_to(sandbox, "48600300300") == 1
    sent = kit.carts.get(warsaw).reminder_sent_at
    assert sent is not None and sent >= morning_warsaw


def test_statistics_over_a_period(kit: Commerce, account: Account,
                                  sandbox: SandboxServer) -> None:
    start = kit.now()
    ids = [new_cart(kit, f"4860040000{i}") for i in range(5)]
    advance(kit, HOUR + 1)
    kit.carts.scan()
    kit.carts.update(ids[4], coupon_code="X")  # active again before its reminder
    drain(kit)
    kit.carts.mark_ordered(ids[0])
    new_cart(kit, "48600400009")
    advance(kit, 1)
    stats = kit.carts.stats(start, kit.now())
    assert (stats.total, stats.active, stats.abandoned, stats.reminded, stats.recovered,
            stats.expired) == (6, 2, 5, 4, 1, 0)
    assert stats.recovery_rate == pytest.approx(1 / 4)  # ids[4] was abandoned, not reminded
    earlier = kit.carts.stats(start - timedelta(days=1), start)
    assert (earlier.total, earlier.recovery_rate) == (0, None)
    with pytest.raises(InvalidCart, match="since < until"):
        kit.carts.stats(kit.now(), start)


BAD_CARTS = [
    ("12", ITEMS, {}, "customer_phone: .*not a phone number"),
    ("+1 555 123 4567", ITEMS, {}, "customer_phone: .*not a valid"),
    ("48600100200", [], {}, "at least one item"),
    ("48600100200", "coffee", {}, "a list of"),
    ("48600100200", [{"name": "", "quantity": 1, "price": "1"}], {}, r"items\[1\].name"),
    ("48600100200", [{"name": "A", "quantity": 0, "price": "1"}], {}, r"items\[1\].quantity"),
    ("48600100200", [{"name": "A", "quantity": 1, "price": 1.1}], {}, r"items\[1\].price"),
    ("48600100200", [{"name": "A", "quantity": 1, "price": "-3"}], {}, r"items\[1\].price"),
    ("48600100200", [{"name": "A", "quantity": 1, "price": "1.001"}], {}, "2 decimals"),
    ("48600100200", [{"name": "A", "quantity": 1, "price": "1", "x": 1}], {}, "unknown"),
    ("48600100200", ITEMS, {"currency": "zloty"}, "currency"),
    ("48600100200", ITEMS, {"total": "abc"}, "total"),
    ("48600100200", ITEMS, {"time_zone": "Mars/Base"}, "time_zone"),
]


def test_bad_cart_input_is_refused_and_nothing_is_stored(kit: Commerce,
                                                         account: Account) -> None:
    for phone, items, extra, error in BAD_CARTS:
        with pytest.raises(InvalidCart, match=error):
            kit.carts.create("shop", phone, items, **{"currency": "PLN", **extra})
    cart = new_cart(kit, "48600100200")
    for change, error in (({"items": []}, "at least one"), ({"total": "-1"}, "total"),
                          ({"coupon_code": "x" * 1001}, "coupon_code")):
        with pytest.raises(InvalidCart, match=error):
            kit.carts.update(cart, **change)
    assert kit.carts.count() == 1 and kit.carts.get(cart).total == Decimal("34.90")


def test_moves_a_cart_cannot_make(kit: Commerce, account: Account) -> None:
    cart = new_cart(kit, "48600100200")
    other = new_cart(kit, "48600100201")
    kit.carts.mark_ordered(cart, order_id="C-1")
    with pytest.raises(InvalidTransition, match="ordered; only active/abandoned/reminded"):
        kit.carts.update(cart, coupon_code="LATE")
    with pytest.raises(InvalidCart, match="already the order of another cart"):
        kit.carts.mark_ordered(other, order_id="C-1")
    assert kit.carts.get(other).status == C.ACTIVE
    with pytest.raises(CartNotFound):
        kit.carts.update(999, coupon_code="X")
    for bad in ({"status": "lost"}, {"status": "recovered"}, {"currency": "PLNX"}):
        with pytest.raises(sa.exc.IntegrityError), kit.db.begin() as conn:
            conn.execute(sa.update(tables.carts).where(tables.carts.c.id == other)
                         .values(**bad))
    assert kit.carts.get(other).status == C.ACTIVE


def test_cart_settings_are_checked() -> None:
    for bad, match in [({"cart_cleanup_mode": "archive"}, "cart_cleanup_mode"),
                       ({"cart_max_age": 60.0}, "cart_max_age > cart_abandon_after"),
                       ({"cart_batch": 0}, "cart_batch"),
                       ({"quiet_hours": (time(21), time(21))}, "quiet_hours"),
                       ({"quiet_hours": ("21:00", "09:00")}, "quiet_hours")]:
        with pytest.raises(CommerceError, match=match):
            CommerceSettings(**bad)  # type: ignore[arg-type]


def test_quiet_hours_end_in_the_local_morning() -> None:
    from zoneinfo import ZoneInfo

    from conveyor_commerce.carts import quiet

    night = (time(21), time(9))
    warsaw = quiet.zone_for("48600100200")
    assert warsaw.key == "Europe/Warsaw" and quiet.zone_for("48600100200", "Asia/Tokyo").key \
        == "Asia/Tokyo"
    late = datetime(2026, 3, 28, 22, 0, tzinfo=UTC)  # 23:00 CET; clocks go forward at 02:00
    assert quiet.quiet_until(late, warsaw, night) == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)
    early = datetime(2026, 7, 1, 5, 0, tzinfo=UTC)  # 07:00 CEST
    assert quiet.quiet_until(early, warsaw, night) == datetime(2026, 7, 1, 7, 0, tzinfo=UTC)
    noon = datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
    assert quiet.quiet_until(noon, warsaw, night) is None
    assert quiet.quiet_until(noon, warsaw, None) is None
    lunch = (time(12), time(13))  # a window that does not cross midnight
    assert quiet.quiet_until(noon, warsaw, lunch) == datetime(2026, 7, 1, 11, 0, tzinfo=UTC)
    assert quiet.quiet_until(noon, ZoneInfo("UTC"), lunch) is None


def test_a_reminder_whose_answer_was_lost_is_stamped_once_confirmed(
        kit: Commerce, account: Account, sandbox: SandboxServer) -> None:
    """Meta accepted the reminder but the answer was lost (as when a worker dies mid-send):
    the status callback adopts the wamid, and the job's next run stamps the cart - in its
    transaction - without sending again."""
    from tests.commerce.test_webhook import SECRET, VERIFY, _post, _status

    cart = new_cart(kit, "48600600600")
    advance(kit, HOUR + 1)
    kit.carts.scan()
    sandbox.state.inject("timeout_after_accept", delay=2.0, recipient="48600600600")
    kit.app.drain([kit.settings.queue])
    waiting = kit.carts.get(cart)
    assert (waiting.status, waiting.reminder_sent_at) == (C.ABANDONED, None)
    assert kit.messages.get(waiting.reminder_message_id or 0).status == MessageStatus.PROCESSING
    with served(kit.webhook_app(app_secret=SECRET, verify_token=VERIFY)) as base, \
            httpx.Client(base_url=base) as hook:
        record = sandbox.state.sent_log()[-1]
        assert _post(hook, _status(sandbox, record, "sent")).json()["applied"] == 1
    advance(kit, TEST_SETTINGS.ambiguous_grace)
    kit.app.drain([kit.settings.queue])
    stamped = kit.carts.get(cart)
    assert stamped.status == C.REMINDED and stamped.reminder_sent_at is not None
    [job] = reminder_jobs(kit)
    assert job.state == JobState.COMPLETED and job.result["confirmed_by"] == "webhook"
    assert sends_to(sandbox, "48600600600") == 1
