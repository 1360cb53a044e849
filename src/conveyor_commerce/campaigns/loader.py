"""Loading a recipient list into a campaign, streamed in batches of `BATCH` rows: each batch
is normalized to E.164, checked against the opt-out list and inserted with the database's
unique (campaign, phone) constraint doing the de-duplication - so memory stays flat however
long the list is. Pending recipients are numbered into chunks as they arrive.

`preview` reads a list the same way without storing it (it remembers the numbers seen to
count duplicates: one short string per recipient).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from conveyor_commerce import tables
from conveyor_commerce.campaigns import sources
from conveyor_commerce.campaigns.model import INVALID, OPTED_OUT, Preview, RecipientStatus
from conveyor_commerce.errors import InvalidCampaign, InvalidMessage
from conveyor_commerce.whatsapp import payloads

if TYPE_CHECKING:
    from conveyor_commerce.db import Database

BATCH = 500
RC, OPT = tables.campaign_recipients, tables.opt_outs
R = RecipientStatus


@dataclasses.dataclass(frozen=True, slots=True)
class Checked:
    line: int
    raw: str
    phone: str | None
    """E.164 digits, or None when invalid."""
    why: str = ""


def checked(batch: list[tuple[int, str]]) -> list[Checked]:
    found = []
    for line, raw in batch:
        try:
            found.append(Checked(line, raw, payloads.normalize_number(raw)))
        except InvalidMessage as exc:
            found.append(Checked(line, raw, None, str(exc)))
    return found


def opted_out(conn: sa.Connection, phones: list[str]) -> set[str]:
    if not phones:
        return set()
    return set(conn.execute(sa.select(OPT.c.phone).where(OPT.c.phone.in_(phones))).scalars())


def load(db: Database, campaign_id: int, source: sources.Source, chunk_size: int,
         now: datetime) -> int:
    """Store every row of `source` as a recipient of the campaign; returns the rows read.
    Raises `InvalidCampaign` for a malformed list (the caller drops the campaign)."""
    read, queued = 0, 0
    insert = postgresql.insert if db.dialect == "postgresql" else sqlite.insert
    for batch in sources.batched(sources.rows(source), BATCH):
        read += len(batch)
        found = checked(batch)
        with db.begin() as conn:
            blocked = opted_out(conn, [c.phone for c in found if c.phone])
            values, seen = [], set()
            for item in found:
                key = item.phone or _invalid_key(item.raw)
                if key in seen:
                    continue
                seen.add(key)
                if item.phone is None:
                    values.append(_row(campaign_id, -1, key, R.SKIPPED, f"{INVALID}: "
                                       f"{item.why}"[:500], now))
                elif item.phone in blocked:
                    values.append(_row(campaign_id, -1, key, R.SKIPPED, OPTED_OUT, now))
                else:
                    values.append(_row(campaign_id, queued // chunk_size, key, R.PENDING,
                                       None, now))
                    queued += 1
            conn.execute(insert(RC).values(values).on_conflict_do_nothing(
                index_elements=["campaign_id", "phone"]))
    if read == 0:
        raise InvalidCampaign("recipients: the list is empty")
    return read


def _invalid_key(raw: str) -> str:
    """How an invalid value is stored (its phone column): trimmed, marked, bounded."""
    return "?" + raw.strip()[: sources.MAX_FIELD]


def _row(campaign_id: int, chunk: int, phone: str, status: RecipientStatus, reason: str | None,
         now: datetime) -> dict[str, object]:
    return {"campaign_id": campaign_id, "chunk": chunk, "phone": phone, "status": status.value,
            "reason": reason, "attempts": 0, "updated_at": now}


def preview(db: Database, source: sources.Source, *, examples: int = 10) -> Preview:
    """Counts of valid, invalid, duplicate and opted-out rows in `source`; stores nothing."""
    seen: set[str] = set()
    rows = valid = invalid = duplicates = blocked_count = 0
    shown: list[tuple[int, str, str]] = []
    rows_iter: Iterator[tuple[int, str]] = sources.rows(source)
    for batch in sources.batched(rows_iter, BATCH):
        rows += len(batch)
        found = checked(batch)
        with db.begin() as conn:
            blocked = opted_out(conn, [c.phone for c in found if c.phone])
        for item in found:
            key = item.phone or _invalid_key(item.raw)
            if key in seen:
                duplicates += 1
                continue
            seen.add(key)
            if item.phone is None:
                invalid += 1
                if len(shown) < examples:
                    shown.append((item.line, item.raw[:40], item.why))
            elif item.phone in blocked:
                blocked_count += 1
            else:
                valid += 1
    if rows == 0:
        raise InvalidCampaign("recipients: the list is empty")
    return Preview(rows, valid, invalid, duplicates, blocked_count, tuple(shown))
