"""The Carts page's filter as it lives in the URL - statuses, account, customer number, the
period the carts were created in (`days`, or `since`/`until`) and the keyset page - parsed
into a `CartFilter` and the statistics' period.

Bad values never reach the kit: each becomes a sentence shown above the list and its field is
ignored. Sizes are bounded.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.datastructures import QueryParams

from conveyor_commerce.carts.model import CartFilter, CartStatus

PAGE_SIZES = (25, 50, 100, 200)
DEFAULT_SIZE, DEFAULT_DAYS, MAX_DAYS = 50, 7, 3650


@dataclasses.dataclass(frozen=True, slots=True)
class CartQuery:
    """What the page was asked for: as typed (to fill the form again) and as parsed."""

    statuses: tuple[CartStatus, ...] = ()
    account: int | None = None
    phone: str = ""
    days: int = DEFAULT_DAYS
    since: str = ""
    until: str = ""
    before: int | None = None
    limit: int = DEFAULT_SIZE
    errors: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None

    def period(self, now: datetime) -> tuple[datetime, datetime | None]:
        """The statistics' period, also the listing's: [since or end - days, until), no
        upper bound without `until`."""
        return self.start or (self.end or now) - timedelta(days=self.days), self.end

    def where(self, now: datetime) -> CartFilter:
        start, end = self.period(now)
        return CartFilter(statuses=self.statuses, account_id=self.account,
                          phone=self.phone or None, created_after=start, created_before=end)

    def params(self, **changes: Any) -> dict[str, Any]:
        """The query string of this view, without its page position."""
        values: dict[str, Any] = {
            "status": [s.value for s in self.statuses], "account": self.account,
            "phone": self.phone, "days": None if self.days == DEFAULT_DAYS else self.days,
            "since": self.since, "until": self.until,
            "limit": None if self.limit == DEFAULT_SIZE else self.limit}
        values.update(changes)
        return values


def parse(query: QueryParams) -> CartQuery:
    errors: list[str] = []
    statuses = []
    for value in query.getlist("status")[:10]:
        try:
            statuses.append(CartStatus(value))
        except ValueError:
            errors.append(f"Unknown status {value[:40]!r}; ignored.")
    phone = "".join(c for c in query.get("phone", "")[:40] if c.isdigit())
    since, until = query.get("since", "")[:40], query.get("until", "")[:40]
    start, end = _moment(since, "since", errors), _moment(until, "until", errors)
    return CartQuery(
        statuses=tuple(dict.fromkeys(statuses)),
        account=_number(query.get("account"), "account", errors, 1, 2**62),
        phone=phone, since=since, until=until,
        days=_number(query.get("days"), "days", errors, 1, MAX_DAYS) or DEFAULT_DAYS,
        before=_number(query.get("before"), "before", errors, 1, 2**62),
        limit=_size(query.get("limit"), errors), start=start, end=end, errors=tuple(errors))


def _number(text: str | None, name: str, errors: list[str], low: int, high: int) -> int | None:
    if not text:
        return None
    if not text.isdigit() or not low <= int(text) <= high:
        errors.append(f"{name}: {text[:20]!r} is not a number from {low} to {high}; ignored.")
        return None
    return int(text)


def _size(text: str | None, errors: list[str]) -> int:
    found = _number(text, "limit", errors, 1, max(PAGE_SIZES))
    if found is not None and found not in PAGE_SIZES:
        errors.append(f"limit: one of {', '.join(map(str, PAGE_SIZES))}; showing "
                      f"{DEFAULT_SIZE}.")
        return DEFAULT_SIZE
    return found or DEFAULT_SIZE


def _moment(text: str, name: str, errors: list[str]) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        errors.append(f"{name}: {text!r} is not like 2026-05-01T09:00 (UTC); ignored.")
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
