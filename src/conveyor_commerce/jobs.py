"""The kit's Conveyor jobs, declared on the application the kit is attached to.

- `conveyor_commerce.whatsapp.send(message_id, account_id)`: sends one scheduled message (see
  `messages.sending`). One job per message, enqueued at `scheduled_at` in the transaction that
  writes the message. Its account's rate key (`wa:<account id>`) spaces the sends of each
  account across every worker; tries are spaced by the kit's backoff (1/5/15 min).
- `conveyor_commerce.whatsapp.retry_failed(message_id)`: sends a failed message again with a
  fresh try, refusing what can never succeed (the shop plugin's `retry_failed_message`).
- `conveyor_commerce.whatsapp.reconcile()`, a cron job every minute: settles messages whose job
  ended without settling them (see `messages.reconcile`).
- `conveyor_commerce.carts.scan()` (cron, every 10 min) and `.remind(cart_id, account_id)`
  (unique per cart): abandoned-cart reminders (see `carts.reminders`).
- `conveyor_commerce.carts.cleanup()` (cron, hourly): expires old carts (`carts.cleanup`).
- `conveyor_commerce.orders.send_order_notification(order_id, status, account_id, phone)`:
  unique per (order, status), 3 attempts (see `carts.orders`).

The functions live in this module (never `__main__`) and their limit key function takes
keywords, so it works however the engine binds the job's arguments.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from conveyor import JobState, Rate
from conveyor.registry import JobType
from conveyor_commerce.whatsapp.accounts import RATE_SPEC, declared_key

if TYPE_CHECKING:
    from conveyor_commerce.kit import Commerce

SEND = "conveyor_commerce.whatsapp.send"
RETRY_FAILED = "conveyor_commerce.whatsapp.retry_failed"
RECONCILE = "conveyor_commerce.whatsapp.reconcile"
REMIND_CART = "conveyor_commerce.carts.remind"
SCAN_CARTS = "conveyor_commerce.carts.scan"
CLEANUP_CARTS = "conveyor_commerce.carts.cleanup"
ORDER_NOTIFICATION = "conveyor_commerce.orders.send_order_notification"


def account_key(message_id: int = 0, account_id: int = 0, **_: Any) -> str:
    """The rate key of a send job: its account's."""
    return declared_key(account_id)


def cart_key(cart_id: int = 0, **_: Any) -> int:
    """A reminder job is unique per cart (whatever account it names)."""
    return cart_id


@dataclasses.dataclass(frozen=True, slots=True)
class KitJobs:
    send: JobType[Any, Any]
    retry_failed: JobType[Any, Any]
    reconcile: JobType[Any, Any]
    remind_cart: JobType[Any, Any]
    scan_carts: JobType[Any, Any]
    cleanup_carts: JobType[Any, Any]
    order_notification: JobType[Any, Any]


def declare(kit: Commerce) -> KitJobs:
    from conveyor_commerce.messages import reconcile, sending

    app, settings = kit.app, kit.settings

    async def send_message(message_id: int, account_id: int) -> dict[str, Any]:
        return await sending.run(kit, message_id, account_id)

    async def retry_failed_message(message_id: int) -> dict[str, Any]:
        return await sending.retry_failed(kit, message_id)

    async def reconcile_messages() -> dict[str, int]:
        return await reconcile.sweep(kit)

    send = app.job(name=SEND, queue=settings.queue, backoff=list(settings.backoff),
                   max_attempts=4, limits=[Rate(RATE_SPEC, key=account_key)])(send_message)
    retry = app.job(name=RETRY_FAILED, queue=settings.queue, max_attempts=3,
                    backoff=[5, 30])(retry_failed_message)
    sweep = app.job(name=RECONCILE, queue=settings.queue, max_attempts=1)(reconcile_messages)
    if settings.reconcile_cron:
        app.cron(settings.reconcile_cron, sweep, name=RECONCILE)
    return KitJobs(send, retry, sweep, *_declare_carts(kit))


def _declare_carts(kit: Commerce) -> tuple[JobType[Any, Any], ...]:
    from conveyor_commerce.carts import cleanup, orders, reminders

    app, settings = kit.app, kit.settings
    every_state = list(JobState)

    async def remind_cart(cart_id: int, account_id: int) -> dict[str, Any]:
        return await reminders.remind(kit, cart_id, account_id)

    def scan_carts() -> dict[str, int]:
        return reminders.scan(kit)

    def cleanup_carts() -> dict[str, Any]:
        return cleanup.run(kit)

    async def send_order_notification(order_id: str, status: str, account_id: int,
                                      phone: str) -> dict[str, Any]:
        return await orders.send(kit, order_id, status, account_id, phone)

    remind = app.job(name=REMIND_CART, queue=settings.queue, backoff=list(settings.backoff),
                     max_attempts=4, unique_key=cart_key,
                     limits=[Rate(RATE_SPEC, key=account_key)])(remind_cart)
    scan = app.job(name=SCAN_CARTS, queue=settings.queue, max_attempts=3, backoff=[10, 60],
                   unique=True)(scan_carts)
    clean = app.job(name=CLEANUP_CARTS, queue=settings.queue, max_attempts=3,
                    backoff=[60, 300], unique=True)(cleanup_carts)
    notify = app.job(name=ORDER_NOTIFICATION, queue=settings.queue,
                     backoff=list(settings.backoff), max_attempts=orders.ATTEMPTS,
                     unique_key=orders.unique_pair, unique_states=every_state,
                     limits=[Rate(RATE_SPEC, key=account_key)])(send_order_notification)
    if settings.cart_scan_cron:
        app.cron(settings.cart_scan_cron, scan, name=SCAN_CARTS)
    if settings.cart_cleanup_cron:
        app.cron(settings.cart_cleanup_cron, clean, name=CLEANUP_CARTS)
    return remind, scan, clean, notify
