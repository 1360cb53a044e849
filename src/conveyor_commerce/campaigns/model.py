"""A campaign, its recipients' outcomes and its progress, as the API and pages show them.

A campaign moves `draft` -> `running` <-> `paused` -> `completed` | `failed`, or, from any
of those but the final ones, `cancelling` -> `cancelled`. A recipient moves `pending` ->
`processing` (its request is leaving) -> `sent` (with the wamid) | `failed` (with the
code) | `pending` (again, after a throttle or a transient error); `skipped` (with the reason:
invalid number, opted out, cancelled, campaign failed) is final from the start or from
`pending`. The campaign row keeps counters moved in the same transactions as the recipients,
so they always add up to the table.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson

from conveyor_commerce.whatsapp import payloads


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    RUNNING = "running"
    PAUSED = "paused"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"
    COMPLETED = "completed"
    FAILED = "failed"


class RecipientStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


C, R = CampaignStatus, RecipientStatus
FINAL = frozenset({C.CANCELLED, C.COMPLETED, C.FAILED})
ACTIVE = frozenset({C.RUNNING, C.PAUSED})

INVALID = "invalid number"
OPTED_OUT = "opted out"
CANCELLED = "campaign cancelled"
ABANDONED = "campaign failed"


@dataclasses.dataclass(frozen=True, slots=True)
class CampaignSettings:
    """Tunables of campaigns, with production defaults."""

    chunk_size: int = 50
    """Recipients per chunk job (the shop plugin's batch size)."""
    slice: int = 25
    """Recipients a chunk claims at a time: each claim re-reads the campaign, so a pause or
    cancel stops the sending within one slice."""
    pace: float = 1.02
    """Seconds between two sends of a campaign, in units of 1/send_rate: a chunk spaces its
    own requests evenly, so a 2 % margin absorbs the jitter."""
    parallel_chunks: int = 2
    """Chunks of one campaign running at once: two overlap at chunk boundaries; more only
    add contention when sending is slower than the rate."""
    backoff: Sequence[float] = (30.0, 120.0, 600.0)
    """Seconds between tries of a chunk after transient errors (network, 5xx)."""
    max_attempts: int = 4
    paused_recheck: float = 2.0
    """A chunk that finds its campaign paused comes back after this long (its key waits)."""
    cancel_wait: float = 30.0
    """`cancel` waits this long for requests already on their way to be recorded."""

    def __post_init__(self) -> None:
        if not 1 <= self.chunk_size <= 1000 or self.slice < 1:
            raise ValueError("chunk_size is 1 to 1000 and slice at least 1")
        if self.pace < 1.0 or self.max_attempts < 1 or self.parallel_chunks < 1:
            raise ValueError("pace is at least 1.0, max_attempts and parallel_chunks at "
                             "least 1")


@dataclasses.dataclass(frozen=True, slots=True)
class Progress:
    recipients: int
    sent: int
    failed: int
    skipped: int
    pending: int
    percent: float
    rate: float
    """Sends (and failures) per second since the campaign started."""
    eta_seconds: float | None
    """Seconds until the pending recipients are done at that rate (None: unknown)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Campaign:
    id: int
    name: str
    account_id: int
    content: payloads.Content
    status: CampaignStatus
    chunk_size: int
    recipients: int
    pending: int
    sent: int
    failed: int
    skipped: int
    invalid: int
    duplicates: int
    opted_out: int
    created_at: datetime
    updated_at: datetime
    batch_id: int | None = None
    error: str | None = None
    summary: Mapping[str, Any] | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> Campaign:
        fields = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in row.items() if k in fields}
        values["content"] = payloads.load(row["kind"], row["content"])
        values["status"] = CampaignStatus(row["status"])
        values["summary"] = orjson.loads(row["summary"]) if row["summary"] else None
        return cls(**values)

    @property
    def kind(self) -> str:
        return "text" if isinstance(self.content, payloads.Text) else "template"

    def describe(self) -> str:
        if isinstance(self.content, payloads.Text):
            text = self.content.body.replace("\n", " ")
            return text if len(text) <= 60 else text[:59] + "…"
        return f"template {self.content.name} [{self.content.language}]"

    def progress(self, now: datetime) -> Progress:
        done = self.sent + self.failed
        end = self.finished_at or now
        elapsed = (end - self.started_at).total_seconds() if self.started_at else 0.0
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = None
        if self.status in ACTIVE and rate > 0:
            eta = self.pending / rate
        elif self.pending == 0:
            eta = 0.0
        total = self.recipients or 1
        return Progress(self.recipients, self.sent, self.failed, self.skipped, self.pending,
                        round(100.0 * (self.recipients - self.pending) / total, 1),
                        round(rate, 1), None if eta is None else round(eta, 1))


@dataclasses.dataclass(frozen=True, slots=True)
class Recipient:
    id: int
    campaign_id: int
    chunk: int
    phone: str
    status: RecipientStatus
    attempts: int
    updated_at: datetime
    wamid: str | None = None
    error_code: int | None = None
    reason: str | None = None
    released_at: datetime | None = None

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> Recipient:
        fields = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in row.items() if k in fields}
        values["status"] = RecipientStatus(row["status"])
        return cls(**values)


@dataclasses.dataclass(frozen=True, slots=True)
class Preview:
    """What a recipient list holds, before anything is stored."""

    rows: int
    valid: int
    invalid: int
    duplicates: int
    opted_out: int
    examples: tuple[tuple[int, str, str], ...] = ()
    """(line, value, why) of the first invalid rows."""
