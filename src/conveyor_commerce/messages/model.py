"""A scheduled WhatsApp message: its record, its statuses and the moves allowed between them.

How a message's status and the state of its job line up (the row holds `job_id`, the one job
that may send it; any other job that finds the row ends without sending):

| message      | its job                                                            |
|--------------|--------------------------------------------------------------------|
| `pending`    | waiting (`scheduled`/`available`/`retryable`), or just claimed      |
| `processing` | `running`, or waiting after its worker died or the answer was lost |
| `sent`       | `completed`                                                        |
| `failed`     | ended: `discarded` (retries used up) or `cancelled` by the job      |
|              | (an error that can never succeed); `completed` if a delivery       |
|              | webhook reported the failure after Meta accepted the message       |
| `cancelled`  | `cancelled`                                                        |

A job can also end from outside - its worker lost and the rescue out of tries, an operator
cancelling or deleting it with Conveyor's commands - leaving its message `pending` or
`processing`: the kit's sweep (`reconcile`, every minute) settles such a message (`cancelled`,
or `failed` with why). One case stays as it is: a rescue that discarded a job whose stalled
worker then still finished the send leaves the message `sent` and its job `discarded`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from conveyor_commerce.whatsapp import payloads


class MessageStatus(StrEnum):
    PENDING = "pending"
    """Waiting for its time (or its next try)."""
    PROCESSING = "processing"
    """A worker is sending it, or a send's outcome is not known yet."""
    SENT = "sent"
    """Meta accepted it (HTTP 200) and its `wamid` is stored."""
    FAILED = "failed"
    """It will not be sent unless retried (or edited)."""
    CANCELLED = "cancelled"
    """Cancelled before it was sent (final)."""


M = MessageStatus

TRANSITIONS: Mapping[MessageStatus, frozenset[MessageStatus]] = {
    M.PENDING: frozenset({M.PROCESSING, M.PENDING, M.CANCELLED}),
    M.PROCESSING: frozenset({M.SENT, M.PENDING, M.FAILED, M.PROCESSING}),
    M.SENT: frozenset({M.FAILED, M.PENDING}),
    M.FAILED: frozenset({M.PENDING}),
    M.CANCELLED: frozenset(),
}
"""`sent -> failed|pending`: a `failed` delivery webhook (pending when it is retried);
`failed -> pending`: retried or edited; `pending -> pending`: edited or held back."""

EDITABLE = frozenset({M.PENDING, M.FAILED})
DELETABLE = frozenset(set(M) - {M.PROCESSING})


def sources_of(target: MessageStatus) -> frozenset[MessageStatus]:
    return frozenset(src for src, targets in TRANSITIONS.items() if target in targets)


class DeliveryStatus(StrEnum):
    """What the status webhook last reported; never moves backwards."""

    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


DELIVERY_RANK = {DeliveryStatus.SENT: 1, DeliveryStatus.DELIVERED: 2, DeliveryStatus.READ: 3}


def delivery_moves(current: str | None, new: DeliveryStatus) -> bool:
    """sent < delivered < read; `failed` wins over nothing or `sent` only; repeats are no-ops."""
    if current is None:
        return True
    if current == new or current == DeliveryStatus.FAILED:
        return False
    if new == DeliveryStatus.FAILED:
        return current == DeliveryStatus.SENT
    return DELIVERY_RANK[new] > DELIVERY_RANK[DeliveryStatus(current)]


@dataclasses.dataclass(frozen=True, slots=True)
class Message:
    id: int
    account_id: int
    recipient: str
    content: payloads.Content
    scheduled_at: datetime
    status: MessageStatus
    retry_count: int
    max_retries: int
    created_at: datetime
    updated_at: datetime
    wa_id: str | None = None
    hold_count: int = 0
    ambiguous_count: int = 0
    error_code: int | None = None
    error_title: str | None = None
    error_detail: str | None = None
    fbtrace_id: str | None = None
    released_at: datetime | None = None
    """When the last request was allowed to leave (the account pacer's slot)."""
    sent_at: datetime | None = None
    meta_message_id: str | None = None
    delivery_status: str | None = None
    delivered_at: datetime | None = None
    read_at: datetime | None = None
    job_id: int | None = None

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> Message:
        fields = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in row.items() if k in fields}
        values["content"] = payloads.load(row["kind"], row["content"])
        values["status"] = MessageStatus(row["status"])
        return cls(**values)

    @property
    def kind(self) -> str:
        return "text" if isinstance(self.content, payloads.Text) else "template"

    def summary(self, width: int = 60) -> str:
        """One line describing the content (for listings)."""
        if isinstance(self.content, payloads.Text):
            text = self.content.body.replace("\n", " ")
        else:
            text = f"template {self.content.name} [{self.content.language}]"
        return text if len(text) <= width else text[: width - 1] + "…"


@dataclasses.dataclass(frozen=True, slots=True)
class MessageFilter:
    """Which messages a listing or a bulk action covers. Empty fields match everything."""

    ids: Sequence[int] = ()
    statuses: Sequence[MessageStatus] = ()
    account_ids: Sequence[int] = ()
    recipient: str | None = None
    scheduled_after: datetime | None = None
    scheduled_before: datetime | None = None
    text: str | None = None
    """Substring of the stored content (text body or template name and parameters)."""
    error_codes: Sequence[int] = ()
    sent_after: datetime | None = None
    """Meta accepted it at or after this time (`sent_at`)."""
