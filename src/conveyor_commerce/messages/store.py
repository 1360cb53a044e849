"""Reading and writing message rows on a caller's connection (inside its transaction).

Every status change is a compare-and-set: the update names the statuses it may leave
(from `model.TRANSITIONS`) and, for the sending job, the job that owns the row; it reports
whether a row changed, so a caller that lost a race knows it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from conveyor_commerce import tables
from conveyor_commerce.messages.model import Message, MessageFilter, MessageStatus, sources_of

T = tables.messages


def insert(conn: sa.Connection, values: dict[str, Any]) -> int:
    new_id = conn.execute(sa.insert(T).values(**values).returning(T.c.id)).scalar_one()
    return int(new_id)


def get(conn: sa.Connection, message_id: int, *, lock: bool = False) -> Message | None:
    query = sa.select(T).where(T.c.id == message_id)
    if lock:
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    return None if row is None else Message.from_row(row)


def by_wamid(conn: sa.Connection, wamid: str) -> Message | None:
    query = sa.select(T).where(T.c.meta_message_id == wamid).with_for_update()
    row = conn.execute(query).mappings().first()
    return None if row is None else Message.from_row(row)


def move(conn: sa.Connection, message_id: int, target: MessageStatus, now: datetime, *,
         owner: int | None = None, sources: Iterable[MessageStatus] | None = None,
         **fields: Any) -> bool:
    """Set `status=target` (and `fields`) if the row is in an allowed source status (and,
    with `owner`, still owned by that job). True if it changed."""
    allowed = sorted(sources_of(target) if sources is None else set(sources))
    query = (sa.update(T).where(T.c.id == message_id, T.c.status.in_(allowed))
             .values(status=target.value, updated_at=now, **fields))
    if owner is not None:
        query = query.where(T.c.job_id == owner)
    return conn.execute(query).rowcount == 1


def set_fields(conn: sa.Connection, message_id: int, now: datetime, **fields: Any) -> None:
    conn.execute(sa.update(T).where(T.c.id == message_id).values(updated_at=now, **fields))


def where(flt: MessageFilter) -> list[sa.ColumnElement[bool]]:
    clauses: list[sa.ColumnElement[bool]] = []
    if flt.ids:
        clauses.append(T.c.id.in_(list(flt.ids)))
    if flt.statuses:
        clauses.append(T.c.status.in_([MessageStatus(s).value for s in flt.statuses]))
    if flt.account_ids:
        clauses.append(T.c.account_id.in_(list(flt.account_ids)))
    if flt.recipient:
        clauses.append(T.c.recipient == flt.recipient)
    if flt.scheduled_after is not None:
        clauses.append(T.c.scheduled_at >= flt.scheduled_after)
    if flt.scheduled_before is not None:
        clauses.append(T.c.scheduled_at < flt.scheduled_before)
    if flt.text:
        escaped = flt.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        clauses.append(T.c.content.like(f"%{escaped}%", escape="\\"))
    if flt.error_codes:
        clauses.append(T.c.error_code.in_(list(flt.error_codes)))
    if flt.sent_after is not None:
        clauses.append(T.c.sent_at >= flt.sent_after)
    return clauses


def query(conn: sa.Connection, flt: MessageFilter, *, limit: int = 100,
          after_id: int | None = None, newest_first: bool = False) -> list[Message]:
    """One page of matching messages, by id (keyset paging: pass the last id seen)."""
    clauses = where(flt)
    if after_id is not None:
        clauses.append(T.c.id < after_id if newest_first else T.c.id > after_id)
    order = T.c.id.desc() if newest_first else T.c.id
    rows = conn.execute(sa.select(T).where(*clauses).order_by(order).limit(limit)).mappings()
    return [Message.from_row(row) for row in rows]


def count(conn: sa.Connection, flt: MessageFilter,
          statuses: Sequence[MessageStatus] | None = None) -> int:
    clauses = where(flt)
    if statuses is not None:
        clauses.append(T.c.status.in_([s.value for s in statuses]))
    return int(conn.execute(sa.select(sa.func.count()).select_from(T).where(*clauses))
               .scalar_one())


def lock_ids(conn: sa.Connection, flt: MessageFilter, statuses: Sequence[MessageStatus],
             limit: int, after_id: int = 0) -> list[Message]:
    """Up to `limit` matching messages in `statuses` with ids above `after_id`, locked."""
    clauses = [*where(flt), T.c.status.in_([s.value for s in statuses]), T.c.id > after_id]
    rows = conn.execute(sa.select(T).where(*clauses).order_by(T.c.id).limit(limit)
                        .with_for_update()).mappings()
    return [Message.from_row(row) for row in rows]


def delete(conn: sa.Connection, ids: Sequence[int], statuses: Sequence[MessageStatus]) -> int:
    if not ids:
        return 0
    result = conn.execute(sa.delete(T).where(T.c.id.in_(list(ids)),
                                             T.c.status.in_([s.value for s in statuses])))
    return int(result.rowcount)
