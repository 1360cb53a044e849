"""The local catalogue's rows: categories, products, the sync status of each (entity, shop)
and the sync log. Functions take a connection, so a job's reads and writes share one
transaction; `Catalog` (service) opens them."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson
import sqlalchemy as sa

from conveyor_commerce.catalog.model import Category, LogEntry, Product, SyncRow, SyncStatus
from conveyor_commerce.errors import CatalogNotFound, InvalidCatalog
from conveyor_commerce.prestashop.client import check_reference
from conveyor_commerce.tables import categories as C
from conveyor_commerce.tables import products as P
from conveyor_commerce.tables import sync_log as L
from conveyor_commerce.tables import sync_status as T

_NAME_FORBIDDEN = re.compile(r"[<>;=#{}]")
_SLUG = re.compile(r"[^a-z0-9]+")


# -- categories and products ---------------------------------------------------------------


def slug(name: str) -> str:
    return _SLUG.sub("-", name.lower()).strip("-")[:128] or "item"


def check_name(what: str, name: Any) -> str:
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 128 \
            or _NAME_FORBIDDEN.search(name):
        raise InvalidCatalog(f"{what} name {name!r:.60}: 1 to 128 characters, none of < > ; = "
                             "# { } (PrestaShop's isCatalogName)")
    return name.strip()


def check_price(price: Any) -> str:
    try:
        value = Decimal(str(price))
    except InvalidOperation:
        value = Decimal("NaN")
    if isinstance(price, bool) or not value.is_finite() or value < 0 \
            or value > Decimal("1e12") or value != value.quantize(Decimal("0.000001")):
        raise InvalidCatalog(f"price {price!r:.40}: a number >= 0 with at most 6 decimals")
    return format(value.normalize(), "f")


def check_product(reference: Any, name: Any, price: Any, stock: Any, priority: Any,
                  ) -> tuple[str, str, str]:
    if not isinstance(reference, str) or not 1 <= len(reference) <= 64 \
            or reference != reference.strip():
        raise InvalidCatalog(f"reference {reference!r:.70}: 1 to 64 characters, no outer spaces")
    try:
        check_reference(reference)
    except ValueError as exc:
        raise InvalidCatalog(str(exc)) from None
    if type(stock) is not int or not -(2**31) < stock < 2**31:
        raise InvalidCatalog(f"stock {stock!r:.30}: an integer")
    if type(priority) is not int or not 1 <= priority <= 10:
        raise InvalidCatalog(f"priority {priority!r:.30}: an integer from 1 (first) to 10")
    return reference, check_name("product", name), check_price(price)


def category(conn: sa.Connection, category_id: int) -> Category:
    row = conn.execute(sa.select(C).where(C.c.id == category_id)).mappings().first()
    if row is None:
        raise CatalogNotFound(f"no category {category_id!r}")
    return Category(int(row["id"]), row["parent_id"], row["name"], row["link_rewrite"],
                    bool(row["active"]))


def categories(conn: sa.Connection) -> dict[int, Category]:
    rows = conn.execute(sa.select(C).order_by(C.c.id)).mappings()
    return {int(r["id"]): Category(int(r["id"]), r["parent_id"], r["name"], r["link_rewrite"],
                                   bool(r["active"])) for r in rows}


def insert_category(conn: sa.Connection, name: str, parent_id: int | None, now: datetime,
                    active: bool = True) -> int:
    name = check_name("category", name)
    if parent_id is not None:
        category(conn, parent_id)
    return int(conn.execute(sa.insert(C).values(
        parent_id=parent_id, name=name, link_rewrite=slug(name), active=int(active),
        created_at=now, updated_at=now).returning(C.c.id)).scalar_one())


def product(conn: sa.Connection, product: int | str) -> Product:
    column = P.c.id if isinstance(product, int) else P.c.reference
    row = conn.execute(sa.select(P).where(column == product)).mappings().first()
    if row is None:
        raise CatalogNotFound(f"no product {product!r}")
    return _product(row)


def products(conn: sa.Connection, ids: Sequence[int] | None = None) -> list[Product]:
    query = sa.select(P).where(P.c.active == 1).order_by(P.c.priority, P.c.id)
    if ids is not None:
        query = sa.select(P).where(P.c.id.in_(list(ids))).order_by(P.c.priority, P.c.id)
    return [_product(row) for row in conn.execute(query).mappings()]


def _product(row: Any) -> Product:
    return Product(int(row["id"]), row["reference"], row["name"], row["price"],
                   int(row["stock"]), int(row["category_id"]), int(row["priority"]),
                   bool(row["active"]), row["updated_at"])


# -- sync status -----------------------------------------------------------------------------


def status(conn: sa.Connection, entity: str, entity_id: int, shop_id: int) -> SyncRow | None:
    row = conn.execute(sa.select(T).where(T.c.entity == entity, T.c.entity_id == entity_id,
                                          T.c.shop_id == shop_id)).mappings().first()
    return None if row is None else _sync(row)


def external_ids(conn: sa.Connection, entity: str, shop_id: int) -> dict[int, int]:
    """Synced entities of a shop: local id -> the shop's id."""
    rows = conn.execute(sa.select(T.c.entity_id, T.c.external_id).where(
        T.c.entity == entity, T.c.shop_id == shop_id, T.c.external_id.is_not(None)))
    return {int(a): int(b) for a, b in rows}


def mark_pending(conn: sa.Connection, entity: str, items: Iterable[tuple[int, int]],
                 shop_id: int, now: datetime) -> None:
    """Record that syncs were asked for: new rows `pending`; rows in error, conflict or
    synced become `pending` again (a row being synced stays `syncing`). `items` are
    (entity id, priority)."""
    wanted = list(items)
    if not wanted:
        return
    found = {int(r[0]) for r in conn.execute(sa.select(T.c.entity_id).where(
        T.c.entity == entity, T.c.shop_id == shop_id,
        T.c.entity_id.in_([i for i, _ in wanted])))}
    fresh = [{"entity": entity, "entity_id": i, "shop_id": shop_id,
              "status": SyncStatus.PENDING.value, "priority": p, "retry_count": 0,
              "updated_at": now} for i, p in wanted if i not in found]
    if fresh:
        conn.execute(sa.insert(T), fresh)
    again = [i for i, _ in wanted if i in found]
    for start in range(0, len(again), 500):
        conn.execute(sa.update(T).where(
            T.c.entity == entity, T.c.shop_id == shop_id,
            T.c.entity_id.in_(again[start:start + 500]),
            T.c.status != SyncStatus.SYNCING.value).values(
                status=SyncStatus.PENDING.value, updated_at=now))


def claim(conn: sa.Connection, entity: str, entity_id: int, shop_id: int, job_id: int,
          now: datetime, stale_after: float) -> SyncRow | None:
    """Mark the row `syncing` for this job; None while another live job syncs it."""
    stale = now - timedelta(seconds=stale_after)
    if status(conn, entity, entity_id, shop_id) is None:
        mark_pending(conn, entity, [(entity_id, 5)], shop_id, now)
    changed = conn.execute(sa.update(T).where(
        T.c.entity == entity, T.c.entity_id == entity_id, T.c.shop_id == shop_id,
        sa.or_(T.c.status != SyncStatus.SYNCING.value, T.c.job_id == job_id,
               T.c.started_at < stale, T.c.started_at.is_(None))
    ).values(status=SyncStatus.SYNCING.value, job_id=job_id, started_at=now,
             updated_at=now)).rowcount
    return status(conn, entity, entity_id, shop_id) if changed else None


def settle(conn: sa.Connection, entity: str, entity_id: int, shop_id: int,
           state: SyncStatus, now: datetime, **fields: Any) -> None:
    """End a sync: `state` with `last_error`, `external_id`, `content_hash`, ..."""
    values: dict[str, Any] = {"status": state.value, "updated_at": now, "started_at": None,
                              **fields}
    if state == SyncStatus.SYNCED:
        values.setdefault("last_synced_at", now)
        values.setdefault("last_error", None)
    conn.execute(sa.update(T).where(T.c.entity == entity, T.c.entity_id == entity_id,
                                    T.c.shop_id == shop_id).values(**values))


def count_retry(conn: sa.Connection, entity: str, entity_id: int, shop_id: int, error: str,
                now: datetime) -> None:
    """A transient failure: one more retry, back to `pending` until the next attempt."""
    conn.execute(sa.update(T).where(T.c.entity == entity, T.c.entity_id == entity_id,
                                    T.c.shop_id == shop_id).values(
        status=SyncStatus.PENDING.value, retry_count=T.c.retry_count + 1,
        last_error=error[:2000], started_at=None, updated_at=now))


def counts(conn: sa.Connection, shop_id: int, entity: str = "product") -> dict[str, int]:
    rows = conn.execute(sa.select(T.c.status, sa.func.count()).where(
        T.c.shop_id == shop_id, T.c.entity == entity).group_by(T.c.status))
    found = {state.value: 0 for state in SyncStatus}
    found.update({str(s): int(n) for s, n in rows})
    return found


def rows(conn: sa.Connection, shop_id: int, statuses: Sequence[SyncStatus] | None = None,
         entity: str | None = None, limit: int = 100) -> list[SyncRow]:
    label = sa.case((T.c.entity == "product", sa.select(P.c.reference).where(
        P.c.id == T.c.entity_id).scalar_subquery()), else_=sa.select(C.c.name).where(
        C.c.id == T.c.entity_id).scalar_subquery())
    query = sa.select(T, label.label("label")).where(T.c.shop_id == shop_id)
    if statuses:
        query = query.where(T.c.status.in_([s.value for s in statuses]))
    if entity:
        query = query.where(T.c.entity == entity)
    query = query.order_by(T.c.updated_at.desc(), T.c.entity, T.c.entity_id).limit(limit)
    return [_sync(row) for row in conn.execute(query).mappings()]


def _sync(row: Any) -> SyncRow:
    return SyncRow(row["entity"], int(row["entity_id"]), int(row["shop_id"]),
                   SyncStatus(row["status"]), int(row["priority"]), int(row["retry_count"]),
                   row["last_error"], row["external_id"], row["last_synced_at"],
                   row["content_hash"], row["job_id"], row["updated_at"],
                   str(row.get("label") or ""))


# -- sync log --------------------------------------------------------------------------------


def log(conn: sa.Connection, entity: str, entity_id: int, shop_id: int, operation: str,
        status: str, now: datetime, *, message: str = "", details: Any = None,
        execution_time: float | None = None, job_id: int | None = None,
        direction: str = "push") -> None:
    conn.execute(sa.insert(L).values(
        entity=entity, entity_id=entity_id, shop_id=shop_id, operation=operation,
        direction=direction, status=status, message=message[:4000],
        details=None if details is None else orjson.dumps(details).decode(),
        execution_time=execution_time, job_id=job_id, created_at=now))


def log_entries(conn: sa.Connection, *, shop_id: int | None = None, entity: str | None = None,
                entity_id: int | None = None, status: str | None = None,
                before_id: int | None = None, limit: int = 50) -> list[LogEntry]:
    query = sa.select(L).order_by(L.c.id.desc()).limit(limit)
    for column, value in ((L.c.shop_id, shop_id), (L.c.entity, entity),
                          (L.c.entity_id, entity_id), (L.c.status, status)):
        if value is not None:
            query = query.where(column == value)
    if before_id is not None:
        query = query.where(L.c.id < before_id)
    return [LogEntry(int(r["id"]), r["entity"], int(r["entity_id"]), int(r["shop_id"]),
                     r["operation"], r["direction"], r["status"], r["message"], r["details"],
                     r["execution_time"], r["job_id"], r["created_at"])
            for r in conn.execute(query).mappings()]


def log_counts(conn: sa.Connection, shop_id: int, entity: str = "product",
               ) -> dict[tuple[str, str], int]:
    rows = conn.execute(sa.select(L.c.operation, L.c.status, sa.func.count()).where(
        L.c.shop_id == shop_id, L.c.entity == entity).group_by(L.c.operation, L.c.status))
    return {(str(o), str(s)): int(n) for o, s, n in rows}
