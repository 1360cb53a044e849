"""Applying delivery-status callbacks (`statuses[]` of a `messages` webhook) to messages.

- Matched by `wamid`; a message whose send answer was lost (still `processing`, no `wamid`) is
  matched by `biz_opaque_callback_data` (message and job) and adopts the `wamid`: it is sent.
- Monotonic: sent < delivered < read, and `failed` only replaces nothing or `sent`; repeats
  and late arrivals change nothing.
- `failed` after Meta accepted the message: a retryable code (see `whatsapp.codes`) schedules
  a new try after the kit's backoff while retries remain; otherwise the message fails.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from conveyor_commerce.messages import sending, store
from conveyor_commerce.messages.model import (
    DeliveryStatus,
    Message,
    MessageStatus,
    delivery_moves,
)
from conveyor_commerce.whatsapp import codes

if TYPE_CHECKING:
    from conveyor_commerce.kit import Commerce

M = MessageStatus
log = logging.getLogger("conveyor_commerce.statuses")


@dataclasses.dataclass(slots=True)
class Applied:
    """What one callback did: statuses applied, ignored (unknown or stale), retries made."""

    applied: int = 0
    ignored: int = 0
    retried: int = 0


def statuses_of(payload: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Every status object of a webhook body (several entries and changes may be batched)."""
    if payload.get("object") != "whatsapp_business_account":
        return
    for entry in payload.get("entry") or ():
        for change in (entry.get("changes") or ()) if isinstance(entry, Mapping) else ():
            if not isinstance(change, Mapping) or change.get("field") != "messages":
                continue
            value = change.get("value") or {}
            for status in value.get("statuses") or () if isinstance(value, Mapping) else ():
                if isinstance(status, Mapping):
                    yield status


def apply(kit: Commerce, payload: Mapping[str, Any]) -> Applied:
    """Apply every status of a webhook body; each status in its own transaction."""
    result = Applied()
    for status in statuses_of(payload):
        try:
            outcome = _apply_one(kit, status)
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("status callback ignored: %s", exc)
            outcome = "ignored"
        if outcome == "ignored":
            result.ignored += 1
        else:
            result.applied += 1
            result.retried += outcome == "retried"
    return result


def _apply_one(kit: Commerce, status: Mapping[str, Any]) -> str:
    new = DeliveryStatus(status["status"])
    wamid = str(status["id"])
    at = datetime.fromtimestamp(int(status["timestamp"]), UTC)
    with kit.ready().begin() as conn:
        message = store.by_wamid(conn, wamid) or _adopt(kit, conn, status, wamid, at)
        if message is None or not delivery_moves(message.delivery_status, new):
            return "ignored"
        fields: dict[str, Any] = {"delivery_status": new.value}
        if new == DeliveryStatus.DELIVERED:
            fields["delivered_at"] = at
        elif new == DeliveryStatus.READ:
            fields |= {"read_at": at, "delivered_at": message.delivered_at or at}
        if new != DeliveryStatus.FAILED or message.status != M.SENT:
            store.set_fields(conn, message.id, kit.now(), **fields)
            return "applied"
        return _failed(kit, conn, message, status, fields)


def _adopt(kit: Commerce, conn: sa.Connection, status: Mapping[str, Any], wamid: str,
           at: datetime) -> Message | None:
    """A send whose answer was lost: the callback tells us it was accepted."""
    ids = sending.parse_opaque(status.get("biz_opaque_callback_data"))
    if ids is None:
        return None
    message = store.get(conn, ids[0], lock=True)
    if message is None or message.job_id != ids[1] or message.meta_message_id is not None \
            or message.status != M.PROCESSING:
        return None
    store.move(conn, message.id, M.SENT, kit.now(), sources={M.PROCESSING},
               meta_message_id=wamid, sent_at=at, wa_id=status.get("recipient_id"),
               error_title=None)
    log.info("message %s: a status callback confirmed the ambiguous send as %s",
             message.id, wamid)
    return store.get(conn, message.id)


def _failed(kit: Commerce, conn: sa.Connection, message: Message, status: Mapping[str, Any],
            fields: dict[str, Any]) -> str:
    error = (status.get("errors") or [{}])[0]
    code = error.get("code") if isinstance(error.get("code"), int) else None
    fields |= {"error_code": code, "error_title": str(error.get("title") or "failed")[:500],
               "error_detail": str((error.get("error_data") or {}).get("details") or "")[:1000]}
    now = kit.now()
    retries = message.retry_count
    if code is None or not codes.retryable_in_webhook(code) or retries >= message.max_retries:
        store.move(conn, message.id, M.FAILED, now, sources={M.SENT}, **fields)
        return "applied"
    backoff = kit.settings.backoff
    due = now + timedelta(seconds=backoff[min(retries, len(backoff) - 1)])
    account = kit.accounts.get_on(conn, message.account_id)
    job_id = kit.messages.enqueue_on(conn, message.id, account, due,
                                      message.max_retries - retries)
    store.move(conn, message.id, M.PENDING, now, sources={M.SENT}, retry_count=retries + 1,
               job_id=job_id, scheduled_at=due, meta_message_id=None, sent_at=None,
               **(fields | {"delivery_status": None}))
    return "retried"
