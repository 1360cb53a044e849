"""A shopping cart of the chat flow: its record, its statuses, and the checks on what a shop
may store in it.

Life cycle (each move is a compare-and-set on the status in `store`):

| status      | how it gets there                                                       |
|-------------|-------------------------------------------------------------------------|
| `active`    | created or updated by the shop (an update of an abandoned cart too)     |
| `abandoned` | the scan found it idle longer than the delay and enqueued its reminder  |
| `reminded`  | Meta accepted the reminder (set with `reminder_sent_at`, one transaction)|
| `ordered`   | ordered without a reminder having been sent                             |
| `recovered` | ordered after the reminder was sent                                     |
| `expired`   | not ordered `cart_max_age` after its last change (the hourly cleanup)  |

A cart gets at most one reminder: once `reminder_message_id` is set it is never picked again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

import orjson

from conveyor_commerce.errors import InvalidCart

MAX_ITEMS = 200
NAME_LIMIT = 200
TEXT_LIMIT = 1000


class CartStatus(StrEnum):
    ACTIVE = "active"
    ABANDONED = "abandoned"
    REMINDED = "reminded"
    ORDERED = "ordered"
    RECOVERED = "recovered"
    EXPIRED = "expired"


C = CartStatus
OPEN = (C.ACTIVE, C.ABANDONED, C.REMINDED)
"""Carts still waiting for an order: the shop may update them; the cleanup expires them."""


@dataclasses.dataclass(frozen=True, slots=True)
class Item:
    """One cart line: `{"name": "Coffee", "quantity": 2, "price": "12.50", "sku": "C-1"}`."""

    name: str
    quantity: int
    price: Decimal
    sku: str | None = None

    def as_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {"name": self.name, "quantity": self.quantity,
                                 "price": str(self.price)}
        if self.sku is not None:
            found["sku"] = self.sku
        return found


@dataclasses.dataclass(frozen=True, slots=True)
class Cart:
    id: int
    account_id: int
    customer_phone: str
    items: tuple[Item, ...]
    total: Decimal
    currency: str
    status: CartStatus
    expires_at: datetime
    created_at: datetime
    updated_at: datetime
    time_zone: str | None = None
    coupon_code: str | None = None
    shipping_address: str | None = None
    order_id: str | None = None
    abandoned_at: datetime | None = None
    reminder_message_id: int | None = None
    reminder_sent_at: datetime | None = None
    ordered_at: datetime | None = None
    recovered_at: datetime | None = None
    expired_at: datetime | None = None

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> Cart:
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in row.items() if k in names}
        values["items"] = tuple(_item(i, raw) for i, raw in
                                enumerate(orjson.loads(row["items"]), 1))
        values["status"] = CartStatus(row["status"])
        return cls(**values)

    def summary(self, width: int = 300) -> str:
        """The items in one line ("2 x Coffee, 1 x Mug"), for the reminder and listings."""
        text = ", ".join(f"{item.quantity} x {item.name}" for item in self.items)
        return text if len(text) <= width else text[: width - 1] + "…"

    def total_text(self) -> str:
        return f"{self.total:.2f} {self.currency}"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (listings, the CLI's --json): times in ISO 8601, amounts as text."""
        found: dict[str, Any] = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, datetime):
                value = value.isoformat()
            elif isinstance(value, Decimal):
                value = str(value)
            found[field.name] = value
        found["items"] = [item.as_json() for item in self.items]
        return found


@dataclasses.dataclass(frozen=True, slots=True)
class CartStats:
    """Carts created in [since, until), by what happened to them; `recovery_rate` is the
    share of reminded carts that were then ordered (None with no reminded cart)."""

    since: datetime
    until: datetime
    total: int
    active: int
    abandoned: int
    """Carts that were ever abandoned (reminded, recovered and expired ones included)."""
    reminded: int
    """Carts whose reminder Meta accepted."""
    recovered: int
    ordered: int
    """Ordered without a reminder."""
    expired: int

    @property
    def recovery_rate(self) -> float | None:
        return self.recovered / self.reminded if self.reminded else None

    def as_dict(self) -> dict[str, Any]:
        found = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        found["since"], found["until"] = self.since.isoformat(), self.until.isoformat()
        found["recovery_rate"] = self.recovery_rate
        return found


@dataclasses.dataclass(frozen=True, slots=True)
class CartFilter:
    """Which carts a listing shows. Empty fields match everything."""

    statuses: Sequence[CartStatus] = ()
    phone: str | None = None
    """Digits the customer's number contains."""
    created_after: datetime | None = None
    created_before: datetime | None = None
    account_id: int | None = None


# -- checks --------------------------------------------------------------------------------


def items_of(raw: Any) -> tuple[Item, ...]:
    """Items as the shop gives them (a list of mappings), checked; `InvalidCart` otherwise."""
    if isinstance(raw, str | bytes | Mapping) or not isinstance(raw, Sequence):
        raise InvalidCart("items: a list of {name, quantity, price} objects is required")
    if not raw:
        raise InvalidCart("items: a cart holds at least one item")
    if len(raw) > MAX_ITEMS:
        raise InvalidCart(f"items: {len(raw)} lines, the limit is {MAX_ITEMS}")
    return tuple(_item(position, entry) for position, entry in enumerate(raw, 1))


def _item(position: int, entry: Any) -> Item:
    if isinstance(entry, Item):
        return entry
    label = f"items[{position}]"
    if not isinstance(entry, Mapping):
        raise InvalidCart(f"{label}: an object with name, quantity and price, got {entry!r:.60}")
    unknown = set(entry) - {"name", "quantity", "price", "sku"}
    if unknown:
        raise InvalidCart(f"{label}: unknown fields {sorted(unknown)}")
    name, quantity, sku = entry.get("name"), entry.get("quantity"), entry.get("sku")
    if not isinstance(name, str) or not name.strip() or len(name) > NAME_LIMIT:
        raise InvalidCart(f"{label}.name: a non-empty string of at most {NAME_LIMIT} characters")
    if type(quantity) is not int or not 1 <= quantity <= 10_000:
        raise InvalidCart(f"{label}.quantity: an integer from 1 to 10000, got {quantity!r:.30}")
    if sku is not None and (not isinstance(sku, str) or len(sku) > 64):
        raise InvalidCart(f"{label}.sku: a string of at most 64 characters")
    return Item(name.strip(), quantity, amount(f"{label}.price", entry.get("price")), sku)


def amount(label: str, value: Any) -> Decimal:
    """A non-negative amount with at most 2 decimals (str, int or Decimal; floats refused:
    they cannot say 0.10 exactly)."""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise InvalidCart(f"{label}: an amount like \"12.50\" (a string, int or Decimal), "
                          f"got {value!r:.30}")
    try:
        found = Decimal(value)
    except InvalidOperation:
        raise InvalidCart(f"{label}: {value!r:.30} is not an amount") from None
    if not found.is_finite() or found < 0 or found >= Decimal("1e12") \
            or found != found.quantize(Decimal("0.01")):
        raise InvalidCart(f"{label}: {value!r:.30} must be >= 0, below 10^12, with at most "
                          "2 decimals")
    return found.quantize(Decimal("0.01"))


def currency_of(value: Any) -> str:
    if not isinstance(value, str) or len(value) != 3 or not value.isalpha():
        raise InvalidCart(f"currency: an ISO 4217 code like 'PLN', got {value!r:.20}")
    return value.upper()


def text_of(label: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > TEXT_LIMIT or "\x00" in value:
        raise InvalidCart(f"{label}: a string of at most {TEXT_LIMIT} characters")
    return value.strip() or None


def items_json(items: Sequence[Item]) -> str:
    return orjson.dumps([item.as_json() for item in items]).decode()
