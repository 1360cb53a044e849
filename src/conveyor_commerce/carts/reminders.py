"""Abandoned-cart reminders: the scan that finds idle carts, and the job that reminds one.

Exactly once per cart, whatever overlaps or crashes:
- The scan marks a batch of idle carts `abandoned` and enqueues their reminder jobs in the same
  transaction (rows locked; PostgreSQL skips rows another scan holds). A cart it marked is no
  longer `active`, so another scan never picks it; the job is also unique per cart.
- The job locks the cart and sends nothing unless it is still `abandoned` with no reminder
  (an update made it `active`, an order `ordered`). Otherwise it stores the reminder message
  for itself and the cart's `reminder_message_id` in one transaction, then sends it through
  the kit's one send path (`messages.sending.run`). A rerun after a crash finds its own message
  and resumes the send, with the send path's duplicate protection.
- `reminder_sent_at` (and status `reminded`) is written in the transaction that records the
  send (`store.record_reminder_sent`, the send path's `on_sent`).

Quiet hours: a job that would remind at night in the customer's zone snoozes until the
morning - one wake-up, no polling - and re-reads the cart then.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from conveyor import Job, Snooze, current_job
from conveyor_commerce.carts import quiet, store
from conveyor_commerce.carts.model import Cart, CartStatus
from conveyor_commerce.messages import sending
from conveyor_commerce.messages import store as message_store
from conveyor_commerce.whatsapp import payloads
from conveyor_commerce.whatsapp.accounts import cost_for

if TYPE_CHECKING:
    import sqlalchemy as sa

    from conveyor_commerce.kit import Commerce

log = logging.getLogger("conveyor_commerce.carts")


def scan(kit: Commerce) -> dict[str, int]:
    """Mark carts idle longer than the delay `abandoned` and enqueue their reminders, in
    batches of `cart_batch` carts, one transaction each."""
    db, settings = kit.ready(), kit.settings
    now = kit.now()
    cutoff = now - timedelta(seconds=settings.cart_abandon_after)
    abandoned = batches = 0
    while True:
        with db.begin() as conn:
            carts = store.idle(conn, cutoff, now, settings.cart_batch,
                               skip_locked=db.dialect == "postgresql")
            if not carts:
                break
            store.mark_abandoned(conn, [c.id for c in carts], kit.now())
            _enqueue(kit, conn, carts)
        abandoned, batches = abandoned + len(carts), batches + 1
        if len(carts) < settings.cart_batch:
            break
    if abandoned:
        log.info("cart scan: %d carts abandoned, reminders enqueued (%d batches)",
                 abandoned, batches)
    return {"abandoned": abandoned, "batches": batches}


def _enqueue(kit: Commerce, conn: sa.Connection, carts: list[Cart]) -> None:
    by_account: dict[int, list[Cart]] = defaultdict(list)
    for cart in carts:
        by_account[cart.account_id].append(cart)
    for account_id, group in by_account.items():
        account = kit.accounts.get_on(conn, account_id)
        kit.jobs.remind_cart.options(cost=cost_for(account.send_rate)).using(conn) \
            .enqueue_many([((), {"cart_id": c.id, "account_id": account_id}) for c in group])


def template_for(kit: Commerce, cart: Cart) -> payloads.Template:
    """The reminder: the configured template, its body the items and the total."""
    name, language = kit.settings.cart_reminder_template
    amount = {"fallback_value": cart.total_text(), "code": cart.currency,
              "amount_1000": int(cart.total * 1000)}
    return payloads.Template(name, language, body=(
        cart.summary(), {"type": "currency", "currency": amount}))


async def remind(kit: Commerce, cart_id: int, account_id: int) -> dict[str, Any]:
    """The reminder job of one cart."""
    job = current_job().job
    step = await kit.in_thread(lambda: _claim(kit, cart_id, job))
    if isinstance(step, Snooze):
        raise step
    if isinstance(step, dict):
        return step
    sent = await sending.run(kit, step, account_id, on_sent=store.record_reminder_sent)
    return {"cart_id": cart_id, "message_id": step, **sent}


def _claim(kit: Commerce, cart_id: int, job: Job) -> int | dict[str, Any] | Snooze:
    """The message this job sends for the cart (stored now if need be), or why not."""
    now = kit.now()
    with kit.ready().begin() as conn:
        cart = store.get(conn, cart_id, lock=True)
        if cart is None:
            return {"cart_id": cart_id, "skipped": "the cart was deleted"}
        if cart.reminder_message_id is not None:
            return _resumed(conn, cart, job)
        if cart.status != CartStatus.ABANDONED:
            return {"cart_id": cart_id, "skipped": f"the cart is {cart.status} (changed or "
                                                   "ordered since the scan)"}
        zone = quiet.zone_for(cart.customer_phone, cart.time_zone)
        morning = quiet.quiet_until(now, zone, kit.settings.quiet_hours)
        if morning is not None:
            log.info("cart %s: quiet hours in %s, reminding at %s", cart_id, zone.key,
                     morning.isoformat())
            return Snooze((morning - now).total_seconds())
        account = kit.accounts.get_on(conn, cart.account_id)
        message_id = kit.messages.insert_on(
            conn, account, cart.customer_phone, template_for(kit, cart), job_id=job.id,
            max_retries=max(0, min(5, job.max_attempts - 1)))
        store.set_reminder(conn, cart_id, message_id)
    return message_id


def _resumed(conn: sa.Connection, cart: Cart, job: Job) -> int | dict[str, Any]:
    """A cart whose reminder exists: this job's own (a rerun resumes it) or another's."""
    message = message_store.get(conn, cart.reminder_message_id or 0)
    if message is not None and message.job_id == job.id:
        return message.id
    return {"cart_id": cart.id, "skipped": "already reminded",
            "message_id": cart.reminder_message_id}
