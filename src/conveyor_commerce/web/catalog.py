"""The catalog sync pages: each shop's sync status (counts by status for products and
categories, the rows in error with retry buttons, conflicts with both versions side by side
and a button to overwrite the shop's copy), the sync log (filters in the URL, keyset pages
newest first), and an overview card. Shop keys are never read here: shops are listed as
`Shop` values, which do not hold one.

POSTs reach these routes only with the CSRF token and for users who may act (the dashboard's
guard); a refused action answers 400 with the reason and changes nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from conveyor.web import Card, Page, redirect, render
from conveyor_commerce.catalog.model import LogEntry, Shop, SyncRow, SyncStatus
from conveyor_commerce.errors import CommerceError
from conveyor_commerce.kit import Commerce
from conveyor_commerce.web import plugin

TEMPLATES = Path(__file__).parent / "templates" / "catalog"
BADGES = {SyncStatus.PENDING.value: "scheduled", SyncStatus.SYNCING.value: "running",
          SyncStatus.SYNCED.value: "completed", SyncStatus.ERROR.value: "discarded",
          SyncStatus.CONFLICT.value: "retryable", "success": "completed",
          "error": "discarded", "conflict": "retryable"}
"""The dashboard's state colour each sync status (and log status) is shown in."""
PAGE_SIZES = (25, 50, 100, 200)


def page() -> Page:
    return Page(slug="catalog", label="Catalog sync", templates=TEMPLATES,
                routes=[Route("/", status, methods=["GET"]),
                        Route("/log", log, methods=["GET"]),
                        Route("/retry", retry, methods=["POST"]),
                        Route("/overwrite", overwrite, methods=["POST"])],
                cards=[Card("Catalog sync", "catalog/card.html", card)])


@dataclasses.dataclass(frozen=True, slots=True)
class Conflict:
    row: SyncRow
    ours: Mapping[str, Any]
    theirs: Mapping[str, Any]


@dataclasses.dataclass(frozen=True, slots=True)
class ShopStatus:
    shop: Shop
    counts: dict[str, dict[str, int]]
    errors: list[SyncRow]
    conflicts: list[Conflict]


async def status(request: Request) -> Response:
    def read(kit: Commerce) -> list[ShopStatus]:
        return [_shop_status(kit, shop) for shop in kit.catalog.shops.list()]

    shops = await plugin.call(request, read)
    return render(request, "catalog/status.html", {
        "shops": shops, "statuses": [s.value for s in SyncStatus], "badges": BADGES})


def _shop_status(kit: Commerce, shop: Shop) -> ShopStatus:
    counts = {entity: kit.catalog.counts(shop.id, entity) for entity in ("product", "category")}
    errors = kit.catalog.statuses(shop.id, [SyncStatus.ERROR], limit=50)
    conflicts = []
    for row in kit.catalog.statuses(shop.id, [SyncStatus.CONFLICT], entity="product",
                                    limit=20):
        found = kit.catalog.log(shop.id, entity="product", entity_id=row.entity_id,
                                status="conflict", limit=1)
        versions = orjson.loads(found[0].details) if found and found[0].details else {}
        conflicts.append(Conflict(row, versions.get("ours", {}), versions.get("theirs", {})))
    return ShopStatus(shop, counts, errors, conflicts)


@dataclasses.dataclass(frozen=True, slots=True)
class LogQuery:
    shop: int | None
    status: str | None
    before: int | None
    limit: int

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> LogQuery:
        def number(name: str) -> int | None:
            value = params.get(name, "")
            return int(value) if value.isdigit() and len(value) < 19 else None

        chosen = params.get("status", "")
        limit = number("limit")
        return cls(number("shop"), chosen if chosen in ("success", "error", "conflict")
                   else None, number("before"), limit if limit in PAGE_SIZES else 50)


async def log(request: Request) -> Response:
    query = LogQuery.parse(request.query_params)

    def read(kit: Commerce) -> tuple[list[LogEntry], list[Shop]]:
        entries = kit.catalog.log(query.shop, status=query.status, before_id=query.before,
                                  limit=query.limit + 1) if _known(kit, query.shop) else []
        return entries, kit.catalog.shops.list()

    entries, shops = await plugin.call(request, read)
    older = entries[query.limit - 1].id if len(entries) > query.limit else None
    return render(request, "catalog/log.html", {
        "entries": entries[:query.limit], "older": older, "query": query, "shops": shops,
        "shop_names": {s.id: s.name for s in shops}, "badges": BADGES,
        "page_sizes": PAGE_SIZES})


def _known(kit: Commerce, shop_id: int | None) -> bool:
    return shop_id is None or any(s.id == shop_id for s in kit.catalog.shops.list())


async def retry(request: Request) -> Response:
    """Retry one failed sync (`entity`, `id`) or every failed sync of the `shop`."""
    async with request.form() as form:
        shop, entity, item = (str(form.get(k, "")) for k in ("shop", "entity", "id"))

    def work(kit: Commerce) -> str:
        target = kit.catalog.shops.get(int(shop) if shop.isdigit() else shop)
        if not item:
            return f"{kit.catalog.retry_failed(target.id)} failed syncs of {target.name} " \
                   "enqueued again."
        if not item.isdigit() or entity not in ("product", "category"):
            raise CommerceError("choose a product or category to retry")
        if entity == "category":
            kit.catalog.sync_category(int(item), target.id)
        else:
            kit.catalog.sync_product(int(item), target.id)
        return f"{entity.capitalize()} {item} enqueued again for {target.name}."

    try:
        notice = await plugin.call(request, work)
    except CommerceError as exc:
        return _problem(request, str(exc))
    return redirect(request, "/catalog/", notice)


async def overwrite(request: Request) -> Response:
    """Resolve a conflict by writing our version over the shop's."""
    async with request.form() as form:
        shop, item = str(form.get("shop", "")), str(form.get("id", ""))

    def work(kit: Commerce) -> str:
        target = kit.catalog.shops.get(int(shop) if shop.isdigit() else shop)
        if not item.isdigit():
            raise CommerceError("choose the product whose conflict to resolve")
        row = kit.catalog.status(int(item), target.id)
        if row is None or row.status != SyncStatus.CONFLICT:
            raise CommerceError(f"product {item} is not in conflict in {target.name}")
        kit.catalog.sync_product(int(item), target.id, force=True)
        return f"Product {item} will overwrite the shop's copy in {target.name}."

    try:
        notice = await plugin.call(request, work)
    except CommerceError as exc:
        return _problem(request, str(exc))
    return redirect(request, "/catalog/", notice)


def _problem(request: Request, text: str) -> Response:
    return render(request, "catalog/problem.html", {"text": text}, 400)


async def card(request: Request) -> Mapping[str, Any]:
    """The overview card: products synced, in error and in conflict over every shop."""
    def read(kit: Commerce) -> dict[str, int]:
        totals = {s.value: 0 for s in SyncStatus}
        for shop in kit.catalog.shops.list():
            for name, count in kit.catalog.counts(shop.id).items():
                totals[name] += count
        return totals

    return await plugin.call(request, read)
