"""The chunk job: send one chunk of a campaign, each recipient at most once with a wamid.

1. Set-up (one transaction): the campaign must be running (paused: wait on the campaign's
   paused key; cancelled or ended: nothing to do). Recipients left `processing` by an earlier
   try whose answer was lost are handled by the kit's `ambiguous` policy (resend after the
   grace, or fail). Recipients already `sent` are never touched again.
2. Claims of `slice` recipients at a time, each re-reading the campaign under its row lock -
   the lock `pause` and `cancel` take - and marking them `processing` before their requests
   leave. The next claim runs while the current slice is being sent.
3. Requests leave `pace / send_rate` seconds apart, at moments reserved on the number's
   pacer (shared with single messages and other chunks; the number's rate key already spaces
   the chunk jobs: cost = the chunk's recipients' share of the key), through the kit's
   client. A slice starts once the one before the last is answered: when the API (or the
   machine) is slower than the rate, the chunk slows down instead of piling up requests.
4. Each slice's outcomes are written in one transaction with the campaign's counters.

What a recipient's error does comes from the kit's error table (`whatsapp.codes`): a
discard is that recipient's `failed` outcome, except codes about the content (unknown,
paused or disabled template, wrong parameters), which would fail every recipient: the
campaign fails at once with that reason. A 130429 (throttle) stops the chunk and blocks the
number's rate key for every worker (`RateLimited`); the chunk resumes after it with the
recipients not yet sent.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import random
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from conveyor import Cancel, Discard, Job, RateLimited, Retry, Snooze, current_job
from conveyor.control import JobControl
from conveyor_commerce import tables
from conveyor_commerce.campaigns.model import (
    CampaignSettings,
    CampaignStatus,
    RecipientStatus,
)
from conveyor_commerce.whatsapp import client, codes, payloads
from conveyor_commerce.whatsapp.accounts import declared_key

if TYPE_CHECKING:
    from conveyor_commerce.kit import Commerce

C, R = CampaignStatus, RecipientStatus
CT, RC = tables.campaigns, tables.campaign_recipients
log = logging.getLogger("conveyor_commerce.campaigns")

CONTENT_ERRORS = frozenset({132000, 132001, 132005, 132007, 132012, 132016, 131051, 131008})
"""Codes that say the campaign's content is wrong: every recipient would fail the same way."""


class TransientChunkError(Exception):
    """Some recipients met a transient error; the chunk is tried again after its backoff."""


@dataclasses.dataclass(frozen=True, slots=True)
class Plan:
    content: payloads.Content
    endpoint: client.Endpoint
    gap: float
    """Seconds between two requests."""


@dataclasses.dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    phone: str
    attempts: int


@dataclasses.dataclass(frozen=True, slots=True)
class Slice:
    recipients: list[Claimed]
    slot: datetime
    """When the first may leave; the others follow `gap` apart."""


@dataclasses.dataclass(frozen=True, slots=True)
class Outcome:
    """What one request came to: `status` sent/failed/pending (tried again later) or
    processing (unknown: its answer was lost)."""

    recipient: Claimed
    status: RecipientStatus
    wamid: str | None = None
    code: int | None = None
    reason: str | None = None
    rule: codes.Rule | None = None


def opaque_for(campaign_id: int, recipient_id: int) -> str:
    return f"conveyor:campaign:{campaign_id}:recipient:{recipient_id}"


async def run(kit: Commerce, campaign_id: int, account_id: int, chunk: int) -> dict[str, Any]:
    job = current_job().job
    settings = kit.settings.campaigns
    http = kit.http()
    plan = await kit.in_thread(lambda: _setup(kit, campaign_id, account_id, chunk, job))
    if isinstance(plan, JobControl):
        raise plan
    if isinstance(plan, dict):
        return plan
    halt = asyncio.Event()
    outcomes: list[Outcome] = []
    writes: list[asyncio.Future[None]] = []
    probing = chunk == 0 and job.attempt == 1
    size = 1 if probing else settings.slice
    claim_next = functools.partial(_claim, kit, campaign_id, account_id, chunk, gap=plan.gap)
    claim: asyncio.Future[Slice | JobControl] | None = asyncio.ensure_future(
        kit.in_thread(functools.partial(claim_next, size=size)))
    stopped: JobControl | None = None
    earlier: list[asyncio.Future[Outcome]] = []
    while claim is not None:
        got = await claim
        if isinstance(got, JobControl):
            stopped = got
            break
        claimed = got.recipients
        if not claimed:
            break
        full, size = len(claimed) == size, settings.slice
        claim = asyncio.ensure_future(kit.in_thread(
            functools.partial(claim_next, size=size))) if full else None
        if earlier:  # at most two slices in flight
            await asyncio.wait(earlier)
        sends: list[asyncio.Future[Outcome]] = []
        unsent: list[Claimed] = []
        for index, recipient in enumerate(claimed):
            if halt.is_set():
                unsent.append(recipient)
                continue
            delay = (got.slot - kit.now()).total_seconds() + index * plan.gap
            if delay > 0:
                await asyncio.sleep(delay)
            sends.append(asyncio.ensure_future(
                _send(http, plan, campaign_id, recipient, halt)))
        earlier = sends
        writes.append(asyncio.ensure_future(
            _record_when_done(kit, campaign_id, sends, unsent, outcomes)))
        if len(claimed) == 1 and probing:  # the content's first try decides for the rest
            probing = False
            await writes[-1]
        if halt.is_set() and claim is not None:
            leftover = await claim
            if isinstance(leftover, Slice) and leftover.recipients:
                await kit.in_thread(functools.partial(_release, kit, campaign_id,
                                                      leftover.recipients))
            break
    await asyncio.gather(*writes)
    return await _verdict(kit, campaign_id, account_id, chunk, job, outcomes, stopped, settings)


def _setup(kit: Commerce, campaign_id: int, account_id: int, chunk: int,
           job: Job) -> Plan | dict[str, Any] | JobControl:
    now, settings = kit.now(), kit.settings
    with kit.ready().begin() as conn:
        row = conn.execute(sa.select(CT).where(CT.c.id == campaign_id)).mappings().first()
        if row is None:
            return {"skipped": f"campaign {campaign_id} was deleted"}
        status = C(row["status"])
        if status == C.PAUSED:
            return Snooze(settings.campaigns.paused_recheck)
        if status != C.RUNNING:
            return {"skipped": f"campaign {campaign_id} is {status}"}
        account, endpoint = kit.accounts.endpoint_on(conn, account_id)
        if account.status == "stopped":
            return Snooze(settings.stopped_recheck)
        lost = conn.execute(sa.select(RC.c.id, RC.c.updated_at).where(
            RC.c.campaign_id == campaign_id, RC.c.chunk == chunk,
            RC.c.status == R.PROCESSING.value)).all()
        if lost:
            waited = min((now - at).total_seconds() for _, at in lost)
            if settings.ambiguous == "resend" and waited < settings.ambiguous_grace:
                return Snooze(settings.ambiguous_grace - waited)
            ids = [rid for rid, _ in lost]
            if settings.ambiguous == "fail":
                _finish_rows(conn, campaign_id, ids, now, R.FAILED, reason="ambiguous: an "
                             "earlier try may have been sent; not resent by policy")
            else:
                log.warning("campaign %s chunk %s: resending %s recipients whose earlier try "
                            "is unknown (policy 'resend')", campaign_id, chunk, len(ids))
                conn.execute(sa.update(RC).where(RC.c.id.in_(ids)).values(
                    status=R.PENDING.value, updated_at=now))
        content = payloads.load(row["kind"], row["content"])
    gap = settings.campaigns.pace / account.send_rate
    return Plan(content, endpoint, gap)


def _claim(kit: Commerce, campaign_id: int, account_id: int, chunk: int, size: int,
           gap: float) -> Slice | JobControl:
    """Mark the next `size` pending recipients `processing` and reserve their moments on the
    number's pacer, if the campaign still runs (its row is share-locked: `cancel` and
    `pause` wait for this claim, and it for them)."""
    now = kit.now()
    with kit.ready().begin() as conn:
        status = conn.execute(sa.select(CT.c.status).where(CT.c.id == campaign_id)
                              .with_for_update(read=True)).scalar()
        if status == C.PAUSED.value:
            return Snooze(kit.settings.campaigns.paused_recheck)
        if status != C.RUNNING.value:
            return Cancel(f"campaign {campaign_id} is {status or 'deleted'}: the chunk ends")
        rows = conn.execute(sa.select(RC.c.id, RC.c.phone, RC.c.attempts).where(
            RC.c.campaign_id == campaign_id, RC.c.chunk == chunk,
            RC.c.status == R.PENDING.value).order_by(RC.c.id).limit(size)).all()
        if not rows:
            return Slice([], now)
        slot = kit.accounts.reserve_slots(conn, account_id, now, len(rows), gap)
        conn.execute(sa.update(RC).where(RC.c.id.in_([r[0] for r in rows])).values(
            status=R.PROCESSING.value, attempts=RC.c.attempts + 1, released_at=slot,
            updated_at=now))
    return Slice([Claimed(int(r[0]), str(r[1]), int(r[2]) + 1) for r in rows], slot)


async def _send(http: Any, plan: Plan, campaign_id: int, recipient: Claimed,
                halt: asyncio.Event) -> Outcome:
    """One request; `halt` is set by an answer that must stop the chunk's next sends (the
    number is throttled or stopped, or the content is refused)."""
    try:
        sent = await client.send(http, plan.endpoint, recipient.phone, plan.content,
                                 opaque_for(campaign_id, recipient.id))
    except client.ApiError as exc:
        rule = exc.rule
        if rule.action in (codes.Action.THROTTLE, codes.Action.STOP) \
                or exc.code in CONTENT_ERRORS:
            halt.set()
        if rule.action == codes.Action.DISCARD:
            return Outcome(recipient, R.FAILED, code=exc.code, reason=str(exc)[:500],
                           rule=rule)
        return Outcome(recipient, R.PENDING, code=exc.code, reason=str(exc)[:500], rule=rule)
    except client.NotSent as exc:
        return Outcome(recipient, R.PENDING, reason=str(exc)[:500],
                       rule=codes.Rule(codes.Action.RETRY, "not sent"))
    except client.Ambiguous as exc:
        return Outcome(recipient, R.PROCESSING, reason=f"ambiguous: {exc}"[:500])
    return Outcome(recipient, R.SENT, wamid=sent.wamid)


async def _record_when_done(kit: Commerce, campaign_id: int,
                            sends: list[asyncio.Future[Outcome]],
                            unsent: list[Claimed], outcomes: list[Outcome]) -> None:
    done = list(await asyncio.gather(*sends))
    done += [Outcome(r, R.PENDING, rule=None) for r in unsent]
    outcomes.extend(done)
    await kit.in_thread(lambda: _record(kit, campaign_id, done))


def _record(kit: Commerce, campaign_id: int, done: Sequence[Outcome]) -> None:
    """Write a slice's outcomes and move the campaign's counters, in one transaction (one
    statement per status). A row changes only if it is still `processing` (a cancel that
    gave up waiting may have settled it)."""
    now = kit.now()
    counts = {R.SENT: 0, R.FAILED: 0}
    with kit.ready().begin() as conn:
        for status in (R.SENT, R.FAILED, R.PENDING, R.PROCESSING):
            group = [o for o in done if o.status == status]
            if not group:
                continue
            ids = [o.recipient.id for o in group]
            values: dict[str, Any] = {"updated_at": now, "reason": _by_id(group, "reason")}
            if status != R.PROCESSING:
                values |= {"status": status.value, "error_code": _by_id(group, "code")}
            if status == R.SENT:
                values["wamid"] = _by_id(group, "wamid")
            if status == R.PENDING:  # a request that never left is not a try
                values["attempts"] = sa.case(
                    {o.recipient.id: o.recipient.attempts - (o.rule is None) for o in group},
                    value=RC.c.id)
            changed = conn.execute(sa.update(RC).where(
                RC.c.id.in_(ids), RC.c.status == R.PROCESSING.value).values(values)).rowcount
            if status in counts:
                counts[status] = int(changed)
        if counts[R.SENT] or counts[R.FAILED]:
            moved = counts[R.SENT] + counts[R.FAILED]
            conn.execute(sa.update(CT).where(CT.c.id == campaign_id).values(
                sent=CT.c.sent + counts[R.SENT], failed=CT.c.failed + counts[R.FAILED],
                pending=CT.c.pending - moved, updated_at=now))


def _by_id(group: Sequence[Outcome], field: str) -> Any:
    """`field` of each outcome, as one SQL CASE on the recipient's id (NULL if none has
    it)."""
    mapping = {o.recipient.id: getattr(o, field) for o in group
               if getattr(o, field) is not None}
    if not mapping:
        return None
    return sa.case(mapping, value=RC.c.id, else_=sa.null())


def _release(kit: Commerce, campaign_id: int, claimed: list[Claimed]) -> None:
    _record(kit, campaign_id, [Outcome(r, R.PENDING) for r in claimed])


def _finish_rows(conn: sa.Connection, campaign_id: int, ids: list[int], now: datetime,
                 status: RecipientStatus, reason: str, code: int | None = None) -> int:
    changed = conn.execute(sa.update(RC).where(
        RC.c.id.in_(ids), RC.c.status.in_([R.PENDING.value, R.PROCESSING.value])).values(
        status=status.value, reason=reason, error_code=code, updated_at=now)).rowcount
    column = {R.FAILED: "failed", R.SKIPPED: "skipped"}[status]
    conn.execute(sa.update(CT).where(CT.c.id == campaign_id).values(
        {column: getattr(CT.c, column) + changed, "pending": CT.c.pending - changed,
         "updated_at": now}))
    return int(changed)


async def _verdict(kit: Commerce, campaign_id: int, account_id: int, chunk: int, job: Job,
                   outcomes: list[Outcome], stopped: JobControl | None,
                   settings: CampaignSettings) -> dict[str, Any]:
    """How the chunk ends, from what its recipients met (worst first)."""
    fatal = next((o for o in outcomes if o.code in CONTENT_ERRORS), None)
    if fatal is not None:
        reason = f"{fatal.reason} - the campaign's content is refused for every recipient"
        await kit.in_thread(lambda: kit.campaigns.fail(campaign_id, reason))
        raise Discard(f"campaign {campaign_id}: {reason}")
    rules = [o.rule for o in outcomes if o.status == R.PENDING and o.rule is not None]
    stop = next((r for r in rules if r.action == codes.Action.STOP), None)
    stop_outcome = next((o for o in outcomes if o.rule is stop), None) if stop else None
    if stop is not None and stop_outcome is not None:
        await kit.accounts.astop(account_id, stop_outcome.code,
                                 f"{stop_outcome.reason} (campaign {campaign_id})")
        raise Snooze(kit.settings.stopped_recheck)
    throttle = [r.wait for r in rules if r.action == codes.Action.THROTTLE]
    if throttle:
        raise RateLimited(retry_after=max(throttle) * random.uniform(1.0, 1.5),
                          key=declared_key(account_id))
    if stopped is not None:
        raise stopped
    holds = [r.wait for r in rules if r.action == codes.Action.HOLD]
    if holds:
        raise Snooze(max(holds))
    unknown = [o for o in outcomes if o.status == R.PROCESSING]
    if unknown:
        raise Retry(in_=kit.settings.ambiguous_grace,
                    reason=f"{len(unknown)} recipients: answer lost, checked after the grace")
    transient = [o for o in outcomes if o.status == R.PENDING and o.rule is not None]
    if transient:
        if job.attempt >= job.max_attempts:
            ids = [o.recipient.id for o in transient]
            reason = transient[0].reason or "transient error"

            def give_up() -> None:
                with kit.ready().begin() as conn:
                    _finish_rows(conn, campaign_id, ids, kit.now(), R.FAILED,
                                 f"gave up after {job.attempt} tries: {reason}"[:500],
                                 transient[0].code)

            await kit.in_thread(give_up)
        else:
            raise TransientChunkError(f"campaign {campaign_id} chunk {chunk}: "
                                      f"{len(transient)} recipients to try again: "
                                      f"{transient[0].reason}")
    sent = sum(1 for o in outcomes if o.status == R.SENT)
    failed = sum(1 for o in outcomes if o.status == R.FAILED)
    return {"campaign_id": campaign_id, "chunk": chunk, "sent": sent, "failed": failed}
