"""Reading and writing cart rows on a caller's connection (inside its transaction).

Status changes are compare-and-set on the statuses they may leave, so a scan, a reminder
job, the cleanup and the shop's own updates never overwrite each other's moves.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from conveyor_commerce import tables
from conveyor_commerce.carts.model import OPEN, Cart, CartFilter, CartStats, CartStatus

T = tables.carts
C = CartStatus


def insert(conn: sa.Connection, values: dict[str, Any]) -> int:
    return int(conn.execute(sa.insert(T).values(**values).returning(T.c.id)).scalar_one())


def get(conn: sa.Connection, cart_id: int, *, lock: bool = False) -> Cart | None:
    query = sa.select(T).where(T.c.id == cart_id)
    if lock:
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    return None if row is None else Cart.from_row(row)


def by_order(conn: sa.Connection, order_id: str) -> Cart | None:
    row = conn.execute(sa.select(T).where(T.c.order_id == order_id)).mappings().first()
    return None if row is None else Cart.from_row(row)


def move(conn: sa.Connection, cart_id: int, target: CartStatus, now: datetime, *,
         sources: Iterable[CartStatus], **fields: Any) -> bool:
    """Set `status=target` (and `fields`) if the cart is in one of `sources`."""
    query = (sa.update(T).where(T.c.id == cart_id, T.c.status.in_([s.value for s in sources]))
             .values(status=target.value, updated_at=now, **fields))
    return conn.execute(query).rowcount == 1


def idle(conn: sa.Connection, cutoff: datetime, now: datetime, limit: int, *,
         skip_locked: bool) -> list[Cart]:
    """Active carts unchanged since `cutoff`, never reminded and not yet past their expiry
    (those the cleanup expires), oldest first, locked."""
    query = (sa.select(T).where(T.c.status == C.ACTIVE.value, T.c.updated_at <= cutoff,
                                T.c.reminder_message_id.is_(None), T.c.expires_at > now)
             .order_by(T.c.updated_at, T.c.id).limit(limit)
             .with_for_update(skip_locked=skip_locked))
    return [Cart.from_row(row) for row in conn.execute(query).mappings()]


def mark_abandoned(conn: sa.Connection, ids: Sequence[int], now: datetime) -> int:
    """Active -> abandoned; `updated_at` is left alone (it is the customer's last change)."""
    if not ids:
        return 0
    result = conn.execute(sa.update(T).where(T.c.id.in_(list(ids)),
                                             T.c.status == C.ACTIVE.value)
                          .values(status=C.ABANDONED.value, abandoned_at=now))
    return int(result.rowcount)


def set_reminder(conn: sa.Connection, cart_id: int, message_id: int) -> None:
    """The cart's reminder message (stored in the same transaction, by its job)."""
    conn.execute(sa.update(T).where(T.c.id == cart_id).values(reminder_message_id=message_id))


def record_reminder_sent(conn: sa.Connection, message_id: int, at: datetime) -> None:
    """The reminder message was accepted by Meta: stamp its cart (once); a cart still open
    and not yet reminded becomes `reminded` (an ordered or expired one stays so)."""
    conn.execute(sa.update(T).where(T.c.reminder_message_id == message_id,
                                    T.c.reminder_sent_at.is_(None))
                 .values(reminder_sent_at=at, status=sa.case(
                     (T.c.status.in_([C.ABANDONED.value, C.ACTIVE.value]), C.REMINDED.value),
                     else_=T.c.status)))


def expire_batch(conn: sa.Connection, now: datetime, limit: int, *, delete: bool,
                 skip_locked: bool) -> int:
    """Expire (or delete) up to `limit` open carts whose `expires_at` has passed, in one
    statement; returns how many. The carts are picked in no order: sorting would read every
    expired cart at each batch, while the (status, expires_at) index finds the first `limit`
    at once (those of earlier batches are no longer open). `updated_at` stays the customer's
    last change."""
    picked = (sa.select(T.c.id).where(T.c.status.in_([s.value for s in OPEN]),
                                      T.c.expires_at <= now)
              .limit(limit).with_for_update(skip_locked=skip_locked))
    if delete:
        statement: sa.Executable = sa.delete(T).where(T.c.id.in_(picked.scalar_subquery()))
    else:
        statement = (sa.update(T).where(T.c.id.in_(picked.scalar_subquery()))
                     .values(status=C.EXPIRED.value, expired_at=now))
    return int(conn.execute(statement).rowcount)


def where(flt: CartFilter) -> list[sa.ColumnElement[bool]]:
    clauses: list[sa.ColumnElement[bool]] = []
    if flt.statuses:
        clauses.append(T.c.status.in_([CartStatus(s).value for s in flt.statuses]))
    if flt.phone:
        clauses.append(T.c.customer_phone.contains(flt.phone, autoescape=True))
    if flt.created_after is not None:
        clauses.append(T.c.created_at >= flt.created_after)
    if flt.created_before is not None:
        clauses.append(T.c.created_at < flt.created_before)
    if flt.account_id is not None:
        clauses.append(T.c.account_id == flt.account_id)
    return clauses


def query(conn: sa.Connection, flt: CartFilter, *, limit: int,
          before_id: int | None = None) -> list[Cart]:
    """One page of matching carts, newest first (keyset: pass the last id seen)."""
    clauses = where(flt)
    if before_id is not None:
        clauses.append(T.c.id < before_id)
    rows = conn.execute(sa.select(T).where(*clauses).order_by(T.c.id.desc()).limit(limit))
    return [Cart.from_row(row) for row in rows.mappings()]


def count(conn: sa.Connection, flt: CartFilter) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(T).where(*where(flt)))
               .scalar_one())


def stats(conn: sa.Connection, since: datetime, until: datetime | None,
          now: datetime) -> CartStats:
    """One pass over the carts created in [since, until) (no upper bound: until None,
    reported as `now`), on the `created_at` index."""

    def of(*statuses: CartStatus) -> Any:
        return sa.func.coalesce(sa.func.sum(sa.case(
            (T.c.status.in_([s.value for s in statuses]), 1), else_=0)), 0)

    ever_abandoned = sa.func.coalesce(sa.func.sum(sa.case(
        (T.c.abandoned_at.is_not(None), 1), else_=0)), 0)
    reminded = sa.func.coalesce(sa.func.sum(sa.case(
        (T.c.reminder_sent_at.is_not(None), 1), else_=0)), 0)
    row = conn.execute(sa.select(
        sa.func.count(), of(C.ACTIVE), ever_abandoned, reminded, of(C.RECOVERED),
        of(C.ORDERED), of(C.EXPIRED),
    ).where(T.c.created_at >= since, *([] if until is None else [T.c.created_at < until])))
    total, active, abandoned, sent, recovered, ordered, expired = (int(v) for v in row.one())
    return CartStats(since, until or now, total, active, abandoned, sent, recovered, ordered,
                     expired)
