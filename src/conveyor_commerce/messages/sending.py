"""The send job: send one message once, whatever crashes, races and errors happen.

1. In one transaction, with the message row locked: check the row still belongs to this job
   (an edit, retry or delete moved it on: end without sending), is due, its account active;
   then mark it `processing` - the attempt is stored before the request leaves.
2. `POST /{version}/{phone_number_id}/messages`, with `biz_opaque_callback_data` naming the
   message and the job, so a status webhook can tell us about a send whose answer we lost.
3. Record the outcome with a compare-and-set on (message, job, `processing`): the `wamid` on
   success, else what the error table (`whatsapp.codes`) says.

Duplicate protection: a message with a `wamid` is never sent again. A row found `processing`
by a later run means an earlier try's outcome is unknown (its worker died, or the answer was
lost): the run waits `ambiguous_grace` for a webhook to confirm it; then, by policy, sends again
("resend": at most one duplicate per such try) or fails the message as ambiguous ("fail").
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from conveyor import Cancel, Job, RateLimited, Retry, Snooze, current_job
from conveyor.control import JobControl
from conveyor_commerce.errors import InvalidTransition, MessageNotFound
from conveyor_commerce.messages import store
from conveyor_commerce.messages.model import Message, MessageStatus
from conveyor_commerce.whatsapp import client, codes
from conveyor_commerce.whatsapp.accounts import declared_key

if TYPE_CHECKING:
    from conveyor_commerce.kit import Commerce

M = MessageStatus
log = logging.getLogger("conveyor_commerce.sending")
OnSent = Callable[[sa.Connection, int, datetime], None]
"""`on_sent(conn, message_id, sent_at)`: a caller's write in the transaction that records
the send (a cart's `reminder_sent_at`); it must be idempotent (a webhook may confirm first)."""


class TransientSendError(Exception):
    """A try failed in a way that may pass; the job is retried after the kit's backoff."""


def opaque_for(message_id: int, job_id: int) -> str:
    return f"conveyor:msg:{message_id}:job:{job_id}"


def parse_opaque(value: Any) -> tuple[int, int] | None:
    parts = str(value or "").split(":")
    if len(parts) == 5 and parts[:2] == ["conveyor", "msg"] and parts[3] == "job" \
            and parts[2].isdigit() and parts[4].isdigit():
        return int(parts[2]), int(parts[4])
    return None


@dataclasses.dataclass(frozen=True, slots=True)
class Ready:
    message: Message
    endpoint: client.Endpoint
    slot: datetime
    """When the request may leave (the account's pacer; see `Accounts.reserve_slot`)."""


async def run(kit: Commerce, message_id: int, account_id: int, *,
              on_sent: OnSent | None = None) -> dict[str, Any]:
    """Send the message owned by the running job (the kit's send job, or a job of the kit
    that stored the message for itself: a cart reminder, an order notification)."""
    job = current_job().job
    http = kit.http()  # built before a send slot is reserved (its first use is slow)
    step = await kit.in_thread(lambda: _prepare(kit, message_id, job, on_sent))
    if isinstance(step, JobControl):
        raise step
    if isinstance(step, dict):
        return step
    message = step.message
    wait = (step.slot - kit.now()).total_seconds()
    if wait > 0:
        await asyncio.sleep(wait)
    try:
        sent = await client.send(http, step.endpoint, message.recipient, message.content,
                                 opaque_for(message_id, job.id))
    except client.ApiError as exc:
        raise await _api_error(kit, message, job, exc) from None
    except client.NotSent as exc:
        reason = str(exc)
        raise await kit.in_thread(lambda: _transient(kit, message, job, None, reason)) from None
    except client.Ambiguous as exc:
        reason = str(exc)
        raise await kit.in_thread(lambda: _ambiguous(kit, message, job, reason)) from None
    await kit.in_thread(lambda: _record_sent(kit, message, job, sent, on_sent))
    return {"wamid": sent.wamid}


def _prepare(kit: Commerce, message_id: int, job: Job,
             on_sent: OnSent | None = None) -> Ready | dict[str, Any] | JobControl:
    now, settings = kit.now(), kit.settings
    with kit.ready().begin() as conn:
        msg = store.get(conn, message_id, lock=True)
        if msg is None:
            return Cancel(f"message {message_id} was deleted")
        if msg.job_id != job.id:
            return Cancel(f"message {message_id} is now sent by job {msg.job_id}")
        if msg.status == M.SENT:
            if on_sent is not None:
                on_sent(conn, msg.id, msg.sent_at or now)
            return {"wamid": msg.meta_message_id, "confirmed_by": "webhook"}
        if msg.status in (M.FAILED, M.CANCELLED):
            return Cancel(f"message {message_id} is {msg.status}")
        if msg.scheduled_at > now:  # never early, whatever moved the job
            return Snooze((msg.scheduled_at - now).total_seconds())
        account, endpoint = kit.accounts.endpoint_on(conn, msg.account_id)
        if account.status == "stopped":
            return Snooze(settings.stopped_recheck)
        ambiguous = msg.status == M.PROCESSING
        if ambiguous:
            waited = (now - msg.updated_at).total_seconds()
            if waited < settings.ambiguous_grace:
                return Snooze(settings.ambiguous_grace - waited)
            if settings.ambiguous == "fail":
                _fail(conn, msg, job, now, None, "ambiguous: the earlier try may have been sent",
                      "its outcome is unknown and the policy is not to resend; retry by hand")
                return Cancel(f"message {message_id} failed: ambiguous earlier try")
            log.warning("message %s: resending after an ambiguous try (policy 'resend')",
                        message_id)
        retries, ambiguous_count = msg.retry_count + ambiguous, msg.ambiguous_count + ambiguous
        slot = kit.accounts.reserve_slot(conn, account, kit.now())
        store.move(conn, message_id, M.PROCESSING, now, owner=job.id,
                   sources={M.PENDING, M.PROCESSING}, retry_count=retries,
                   ambiguous_count=ambiguous_count, released_at=slot)
    return Ready(dataclasses.replace(msg, status=M.PROCESSING, updated_at=now,
                                     retry_count=retries, ambiguous_count=ambiguous_count,
                                     released_at=slot), endpoint, slot)


def _record_sent(kit: Commerce, message: Message, job: Job, sent: client.Sent,
                 on_sent: OnSent | None = None) -> None:
    now = kit.now()
    with kit.ready().begin() as conn:
        changed = store.move(conn, message.id, M.SENT, now, owner=job.id,
                             sources={M.PROCESSING}, meta_message_id=sent.wamid,
                             wa_id=sent.wa_id, sent_at=now, error_code=None,
                             error_title=None, error_detail=None, fbtrace_id=None)
        if on_sent is not None:
            on_sent(conn, message.id, now)
    if not changed:
        log.info("message %s: sent as %s, but the row had moved on (a webhook confirmed "
                 "it first)", message.id, sent.wamid)


async def _api_error(kit: Commerce, message: Message, job: Job,
                     exc: client.ApiError) -> BaseException:
    rule = exc.rule
    if rule.action == codes.Action.STOP:
        await kit.accounts.astop(message.account_id, exc.code,
                                 f"{exc} (while sending message {message.id})")

    def write() -> BaseException:
        return _apply_rule(kit, message, job, exc, rule)

    return await kit.in_thread(write)


def _apply_rule(kit: Commerce, message: Message, job: Job, exc: client.ApiError,
                rule: codes.Rule) -> BaseException:
    now, action = kit.now(), rule.action
    detail = exc.details or rule.meaning
    error: dict[str, Any] = {"error_code": exc.code, "error_title": exc.title[:500],
                             "error_detail": detail, "fbtrace_id": exc.fbtrace_id}
    if action == codes.Action.RETRY:
        return _transient(kit, message, job, exc.code, str(exc), error)
    with kit.ready().begin() as conn:
        if action == codes.Action.DISCARD:
            _fail(conn, message, job, now, exc.code, exc.title, detail, exc.fbtrace_id)
            return Cancel(f"message {message.id} failed: {exc}")
        holds = message.hold_count + (action == codes.Action.HOLD)
        store.move(conn, message.id, M.PENDING, now, owner=job.id, sources={M.PROCESSING},
                   hold_count=holds, **error)
    if action == codes.Action.THROTTLE:
        return RateLimited(retry_after=rule.wait * random.uniform(1.0, 1.5),
                           key=declared_key(message.account_id))
    if action == codes.Action.HOLD:
        return Snooze(codes.hold_seconds(rule, message.hold_count))
    return Snooze(kit.settings.stopped_recheck)  # STOP: the paused key holds the job


def _transient(kit: Commerce, message: Message, job: Job, code: int | None, text: str,
               error: dict[str, Any] | None = None) -> BaseException:
    """Pending again (a retry is used) or, on the last try, failed."""
    now = kit.now()
    error = error or {"error_code": code, "error_title": text[:500], "error_detail": None,
                      "fbtrace_id": None}
    last = job.attempt >= job.max_attempts
    with kit.ready().begin() as conn:
        if last:
            _fail(conn, message, job, now, code, error["error_title"], error["error_detail"],
                  error["fbtrace_id"])
        else:
            store.move(conn, message.id, M.PENDING, now, owner=job.id, sources={M.PROCESSING},
                       retry_count=message.retry_count + 1, **error)
    return TransientSendError(f"message {message.id}: {text}")


def _ambiguous(kit: Commerce, message: Message, job: Job, text: str) -> BaseException:
    """Keep `processing` (the outcome is unknown) and come back after the grace period."""
    now, settings = kit.now(), kit.settings
    title = f"ambiguous: {text}"
    with kit.ready().begin() as conn:
        if settings.ambiguous == "fail" or job.attempt >= job.max_attempts:
            _fail(conn, message, job, now, None, title,
                  "the request left but no answer came back: it may have been sent")
            return Cancel(f"message {message.id} failed: {title}")
        store.move(conn, message.id, M.PROCESSING, now, owner=job.id, sources={M.PROCESSING},
                   error_code=None, error_title=title[:500], error_detail=None)
    return Retry(in_=settings.ambiguous_grace, reason=f"message {message.id}: {title}")


def _fail(conn: Any, message: Message, job: Job, now: Any, code: int | None, title: str,
          detail: str | None, fbtrace_id: str | None = None) -> None:
    store.move(conn, message.id, M.FAILED, now, owner=job.id,
               sources={M.PROCESSING},
               error_code=code, error_title=title[:500], error_detail=detail,
               fbtrace_id=fbtrace_id)


async def retry_failed(kit: Commerce, message_id: int) -> dict[str, Any]:
    """The `retry_failed_message` job: a fresh try for a failed message, unless it can never
    succeed."""
    try:
        message, old_job = await kit.in_thread(lambda: kit.messages.retry_now(message_id))
    except (InvalidTransition, MessageNotFound) as exc:
        raise Cancel(str(exc)) from None
    await kit.messages.acancel_jobs([old_job])
    return {"message_id": message_id, "job_id": message.job_id}
