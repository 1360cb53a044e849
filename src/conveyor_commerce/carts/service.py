"""`commerce.carts`: the shop's chat flow writes carts here (create, update, mark ordered);
the kit's jobs scan them for reminders and expire old ones; statistics and listings read them.

Every write is one short transaction. A cart's reminder is sent by a job (`reminders`), never
by these calls; an order notification is enqueued by `notify_order` (`orders`).
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from conveyor import Job
from conveyor_commerce import tables
from conveyor_commerce.carts import cleanup, orders, quiet, reminders, store
from conveyor_commerce.carts.model import (
    OPEN,
    Cart,
    CartFilter,
    CartStats,
    CartStatus,
    Item,
    amount,
    currency_of,
    items_json,
    items_of,
    text_of,
)
from conveyor_commerce.errors import (
    CartNotFound,
    InvalidCart,
    InvalidMessage,
    InvalidTransition,
)
from conveyor_commerce.whatsapp import payloads

if TYPE_CHECKING:
    from conveyor_commerce.kit import Commerce

C = CartStatus


class Carts:
    def __init__(self, kit: Commerce) -> None:
        self.kit = kit

    # -- the shop's writes ------------------------------------------------------------------

    def create(self, account: int | str, customer_phone: str, items: Sequence[Any], *,
               currency: str, total: Decimal | str | int | None = None,
               coupon_code: str | None = None, shipping_address: str | None = None,
               time_zone: str | None = None) -> Cart:
        """A new active cart of the customer at `customer_phone`, chatting with `account`.
        `total` defaults to the sum of the items. Refused with `InvalidCart`, nothing stored,
        when anything is wrong."""
        phone = _phone(customer_phone)
        lines = items_of(items)
        values = {"customer_phone": phone, "items": items_json(lines),
                  "total": _total(total, lines), "currency": currency_of(currency),
                  "coupon_code": text_of("coupon_code", coupon_code),
                  "shipping_address": text_of("shipping_address", shipping_address),
                  "time_zone": quiet.zone_name(time_zone)}
        now = self.kit.now()
        with self.kit.ready().begin() as conn:
            acct = self.kit.accounts.get_on(conn, account)
            cart_id = store.insert(conn, {
                **values, "account_id": acct.id, "status": C.ACTIVE.value,
                "expires_at": self._expiry(now), "created_at": now, "updated_at": now})
        return self.get(cart_id)

    def update(self, cart_id: int, *, items: Sequence[Any] | None = None,
               total: Decimal | str | int | None = None, currency: str | None = None,
               coupon_code: str | None = None, shipping_address: str | None = None,
               time_zone: str | None = None) -> Cart:
        """Change an open cart (None: unchanged; "" clears a coupon or an address). The
        customer is active again: an abandoned cart whose reminder is not sent becomes
        `active` (a waiting reminder then sends nothing); its idle time starts anew."""
        now = self.kit.now()
        with self.kit.ready().begin() as conn:
            current = self._locked(conn, cart_id, OPEN, "updated")
            lines = items_of(items) if items is not None else current.items
            fields: dict[str, Any] = {
                "items": items_json(lines), "expires_at": self._expiry(now),
                "total": _total(total, lines) if items is not None or total is not None
                else current.total}
            if currency is not None:
                fields["currency"] = currency_of(currency)
            if coupon_code is not None:
                fields["coupon_code"] = text_of("coupon_code", coupon_code)
            if shipping_address is not None:
                fields["shipping_address"] = text_of("shipping_address", shipping_address)
            if time_zone is not None:
                fields["time_zone"] = quiet.zone_name(time_zone or None)
            target = C.REMINDED if current.reminder_sent_at is not None else C.ACTIVE
            store.move(conn, cart_id, target, now, sources=OPEN, **fields)
        return self.get(cart_id)

    def mark_ordered(self, cart_id: int, order_id: str | None = None) -> Cart:
        """The customer ordered: `recovered` if the reminder was sent, else `ordered`.
        `order_id` (the shop's) links later order notifications to this cart's customer."""
        if order_id is not None:
            orders.check_order_id(order_id)
        now = self.kit.now()
        try:
            with self.kit.ready().begin() as conn:
                current = self._locked(conn, cart_id, OPEN, "ordered")
                recovered = current.reminder_sent_at is not None
                store.move(conn, cart_id, C.RECOVERED if recovered else C.ORDERED, now,
                           sources=OPEN, order_id=order_id, ordered_at=now,
                           recovered_at=now if recovered else None)
        except sa.exc.IntegrityError:
            raise InvalidCart(f"order id {order_id!r} is already the order of another "
                              "cart") from None
        return self.get(cart_id)

    def _locked(self, conn: sa.Connection, cart_id: int, allowed: Sequence[CartStatus],
                verb: str) -> Cart:
        current = store.get(conn, cart_id, lock=True)
        if current is None:
            raise CartNotFound(f"no cart with id {cart_id}")
        if current.status not in allowed:
            raise InvalidTransition(f"cart {cart_id} is {current.status}; only "
                                    f"{'/'.join(allowed)} carts can be {verb}")
        return current

    def _expiry(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self.kit.settings.cart_max_age)

    # -- reading ----------------------------------------------------------------------------

    def get(self, cart_id: int) -> Cart:
        with self.kit.ready().begin() as conn:
            found = store.get(conn, cart_id)
        if found is None:
            raise CartNotFound(f"no cart with id {cart_id}")
        return found

    def by_order(self, order_id: str) -> Cart | None:
        with self.kit.ready().begin() as conn:
            return store.by_order(conn, order_id)

    def list(self, where: CartFilter | None = None, *, limit: int = 50,
             before_id: int | None = None) -> list[Cart]:
        """One page of carts, newest first (keyset paging: the last id of the page before)."""
        with self.kit.ready().begin() as conn:
            return store.query(conn, where or CartFilter(), limit=limit, before_id=before_id)

    def count(self, where: CartFilter | None = None) -> int:
        with self.kit.ready().begin() as conn:
            return store.count(conn, where or CartFilter())

    def stats(self, since: datetime | None = None, until: datetime | None = None) -> CartStats:
        """Carts created in [since, until) (default: the last 7 days, up to now included)
        by what became of them, with the recovery rate (recovered / reminded)."""
        now = self.kit.now()
        since = since or (until or now) - timedelta(days=7)
        if since.tzinfo is None or (until is not None and until.tzinfo is None):
            raise InvalidCart("stats: since and until are aware datetimes")
        if since >= (until or now + timedelta(microseconds=1)):
            raise InvalidCart(f"stats: since < until needed (since {since.isoformat()})")
        with self.kit.ready().begin() as conn:
            return store.stats(conn, since, until, now)

    def cleanups(self, limit: int = 20) -> builtins.list[dict[str, Any]]:
        """The last runs of the expired-cart cleanup, newest first."""
        table = tables.cart_cleanups
        with self.kit.ready().begin() as conn:
            rows = conn.execute(sa.select(table).order_by(table.c.id.desc()).limit(limit))
            return [dict(row) for row in rows.mappings()]

    # -- the kit's jobs, run now ------------------------------------------------------------

    def scan(self) -> dict[str, int]:
        """Mark newly abandoned carts and enqueue one reminder job per cart (what the scan
        cron runs)."""
        return reminders.scan(self.kit)

    def cleanup(self) -> dict[str, Any]:
        """Expire (or delete) open carts past their age, in batches (what the hourly cron
        runs)."""
        return cleanup.run(self.kit)

    def notify_order(self, order_id: str, status: str, *, account: int | str | None = None,
                     phone: str | None = None) -> Job:
        """Enqueue the order's notification for `status` (confirmed/shipped/delivered); once
        per (order, status): a second call returns the first job. The customer and account
        are the order's cart's unless given."""
        return orders.enqueue(self.kit, order_id, status, account=account, phone=phone)


def _phone(number: str) -> str:
    try:
        return payloads.normalize_number(number)
    except InvalidMessage as exc:
        raise InvalidCart(f"customer_phone: {exc}") from None


def _total(total: Decimal | str | int | None, lines: Sequence[Item]) -> Decimal:
    if total is None:
        return sum((line.price * line.quantity for line in lines), Decimal("0.00"))
    return amount("total", total)
