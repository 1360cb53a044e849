"""Order notifications: one template message per (order, status) sent through the kit's send
path, 3 attempts 60 s / 300 s apart, then `failed` with the reason; bad input refused."""

from __future__ import annotations

import pytest

from conveyor import JobFilter, JobState
from conveyor.changes import DeleteJobs
from conveyor_commerce import CartNotFound, Commerce, InvalidMessage, MessageStatus
from conveyor_commerce.sandbox import SandboxServer
from conveyor_commerce.whatsapp.accounts import Account
from tests.commerce.conftest import advance, drain, sends_to

ITEMS = [{"name": "Kettle", "quantity": 1, "price": "89.00"}]


def test_one_notification_per_order_and_status(kit: Commerce, account: Account,
                                               sandbox: SandboxServer) -> None:
    cart = kit.carts.create("shop", "48600500500", ITEMS, currency="EUR")
    kit.carts.mark_ordered(cart.id, order_id="PS-1001")
    first = kit.carts.notify_order("PS-1001", "confirmed")
    assert kit.carts.notify_order("PS-1001", "confirmed").id == first.id
    shipped = kit.carts.notify_order("PS-1001", "shipped")
    assert shipped.id != first.id
    assert first.kwargs == {"order_id": "PS-1001", "status": "confirmed",
                            "account_id": account.id, "phone": "48600500500"}
    drain(kit)
    assert sends_to(sandbox, "48600500500") == 2
    # Completed: a new call still returns the same job (unique in every state) ...
    assert kit.carts.notify_order("PS-1001", "confirmed").id == first.id
    # ... and once that job is gone, the recorded pair stops a new one from sending.
    kit.app.admin.apply(DeleteJobs(), JobFilter(ids=[first.id]), actor="ops")
    again = kit.carts.notify_order("PS-1001", "confirmed")
    assert again.id != first.id
    drain(kit)
    assert "already notified" in kit.app.get(again.id).result["skipped"]
    assert sends_to(sandbox, "48600500500") == 2
    bodies = [r.body["template"] for r in sandbox.state.sent_log()]
    assert [[p["text"] for p in b["components"][0]["parameters"]] for b in bodies] == \
        [["PS-1001", "confirmed"], ["PS-1001", "shipped"]]
    done = kit.app.get(shipped.id).result
    assert kit.messages.get(done["message_id"]).status == MessageStatus.SENT


def test_three_attempts_then_failed_with_the_reason(kit: Commerce, account: Account,
                                                    sandbox: SandboxServer) -> None:
    sandbox.state.inject("error", code=131000, recipient="48600500501", times=5)
    job = kit.carts.notify_order("PS-2", "delivered", account="shop", phone="+48 600 500 501")
    kit.app.drain([kit.settings.queue])
    waits = []
    for _ in range(2):
        retrying = kit.app.get(job.id)
        assert retrying.state == JobState.RETRYABLE
        waits.append(round((retrying.run_at - kit.now()).total_seconds()))
        advance(kit, waits[-1] - 1)
        kit.app.drain([kit.settings.queue])
        assert kit.app.get(job.id).attempt == retrying.attempt  # not before its time
        advance(kit, 1)
        kit.app.drain([kit.settings.queue])
    assert waits == [60, 300]
    ended = kit.app.get(job.id)
    assert (ended.state, ended.attempt) == (JobState.DISCARDED, 3)
    assert "131000" in ended.errors[-1].message
    [message] = kit.messages.list()
    assert message.status == MessageStatus.FAILED and message.error_code == 131000
    assert message.error_title and message.retry_count == 2
    assert sends_to(sandbox, "48600500501") == 0


def test_bad_notifications_are_refused(kit: Commerce, account: Account) -> None:
    for args, kwargs, error, match in [
        (("PS-3", "lost"), {"account": "shop", "phone": "48600500502"}, InvalidMessage,
         "one of confirmed, shipped, delivered"),
        (("", "shipped"), {"account": "shop", "phone": "48600500502"}, InvalidMessage,
         "order id"),
        (("PS-3", "shipped"), {"account": "shop", "phone": "12"}, InvalidMessage,
         "not a phone number"),
        (("PS-3", "shipped"), {}, CartNotFound, "no cart has order 'PS-3'"),
    ]:
        with pytest.raises(error, match=match):
            kit.carts.notify_order(*args, **kwargs)  # type: ignore[arg-type]
    assert kit.app.jobs(JobFilter()) == [] and kit.messages.count() == 0
