"""The Carts page: the statistics of the carts created in a period (a card) and those carts,
filtered (statuses, account, number) with keyset pages newest first; and the overview card
(the last 7 days). Filters live in the URL (`cart_filters`). Read-only: carts are the shop's
to change. Every kit call runs in a worker thread (`plugin.call`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from conveyor.web import Card, Page, render
from conveyor_commerce.carts.model import Cart, CartStats, CartStatus
from conveyor_commerce.errors import InvalidCart
from conveyor_commerce.kit import Commerce
from conveyor_commerce.web import cart_filters, plugin

TEMPLATES = Path(__file__).parent / "templates" / "carts"
BADGES = {CartStatus.ACTIVE: "running", CartStatus.ABANDONED: "retryable",
          CartStatus.REMINDED: "scheduled", CartStatus.ORDERED: "completed",
          CartStatus.RECOVERED: "completed", CartStatus.EXPIRED: "cancelled"}
"""The dashboard's state colour each cart status is shown in."""


def page() -> Page:
    return Page(slug="carts", label="Carts", templates=TEMPLATES,
                routes=[Route("/", listing, methods=["GET"])],
                cards=[Card("Carts (7 days)", "carts/card.html", card)])


@dataclasses.dataclass(frozen=True, slots=True)
class View:
    stats: CartStats | None
    carts: list[Cart]
    older: int | None
    """The last id of this page when older carts exist (link: `before=`)."""
    account_names: dict[int, str]
    problem: str | None = None


async def listing(request: Request) -> Response:
    query = cart_filters.parse(request.query_params)
    view = await plugin.call(request, lambda kit: _read(kit, query))
    return render(request, "carts/list.html", {
        "query": query, "view": view, "statuses": list(CartStatus),
        "badges": {s.value: b for s, b in BADGES.items()},
        "page_sizes": cart_filters.PAGE_SIZES})


def _read(kit: Commerce, query: cart_filters.CartQuery) -> View:
    names = {a.id: a.name for a in kit.accounts.list()}
    start, end = query.period(kit.now())
    try:
        stats = kit.carts.stats(start, end)
    except InvalidCart as exc:
        return View(None, [], None, names, str(exc))
    rows = kit.carts.list(query.where(kit.now()), limit=query.limit + 1,
                          before_id=query.before)
    shown = rows[:query.limit]
    return View(stats, shown, shown[-1].id if len(rows) > query.limit else None, names)


async def card(request: Request) -> Mapping[str, Any]:
    """The overview card: the last 7 days' carts and recovery rate."""
    return {"stats": await plugin.call(request, lambda kit: kit.carts.stats())}
