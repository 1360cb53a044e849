"""`commerce.messages`: schedule, read, edit, cancel, retry and delete messages, one at a time
or in bulk over a selection or a filter.

Every change writes the message and its job in one transaction: scheduling inserts the message
and enqueues its job on the same connection (`job.using(conn)`); editing or retrying points
the message at a freshly enqueued job in the same transaction. The job a message no longer
points to is cancelled right after the commit when it is still waiting; if it runs anyway (it
was claimed in between, or the process died before cancelling it), it finds the message is not
its own and ends without sending. See `model` for how statuses and job states line up.
"""

from __future__ import annotations

import builtins
import dataclasses
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from conveyor import JobFilter, JobNotFound
from conveyor.changes import CancelJobs
from conveyor.model import WAITING_STATES
from conveyor_commerce.errors import InvalidMessage, InvalidTransition, MessageNotFound
from conveyor_commerce.messages import store, timing
from conveyor_commerce.messages.model import (
    DELETABLE,
    EDITABLE,
    Message,
    MessageFilter,
    MessageStatus,
)
from conveyor_commerce.whatsapp import codes, payloads
from conveyor_commerce.whatsapp.accounts import Account, cost_for

if TYPE_CHECKING:
    from conveyor_commerce.kit import Commerce

M = MessageStatus
CHUNK = 500
BULK_STATUSES = {"cancel": (M.PENDING,), "retry": (M.FAILED,),
                 "delete": tuple(sorted(DELETABLE))}
log = logging.getLogger("conveyor_commerce.messages")
CLEARED = {"error_code": None, "error_title": None, "error_detail": None, "fbtrace_id": None,
           "meta_message_id": None, "wa_id": None, "sent_at": None, "released_at": None,
           "delivery_status": None, "delivered_at": None, "read_at": None, "hold_count": 0}


@dataclasses.dataclass(frozen=True, slots=True)
class BulkResult:
    action: str
    count: int
    dry_run: bool


class Messages:
    def __init__(self, kit: Commerce) -> None:
        self.kit = kit

    # -- scheduling -------------------------------------------------------------------------

    def schedule(self, account: int | str, to: str, content: payloads.Content | str, *,
                 at: datetime | str | None = None, offset: str | float | None = None,
                 tz: str | None = None, max_retries: int = 3) -> Message:
        """Schedule a message `to` a number, sent by `account` at `at` (aware, or local with
        `tz`) or after `offset` ("+5m", "+30m", "+1h", "+1d"); default: the minimum lead.
        Refused with `InvalidMessage` (nothing stored) when anything is wrong."""
        recipient, body, max_retries = self._checked(to, content, max_retries)
        now = self.kit.now()
        lead = self.kit.settings.min_lead
        due = timing.resolve(now, at=at, offset=offset, tz=tz, default_lead=lead)
        timing.check_lead(due, now, lead)
        kind, stored = payloads.dump(body)
        with self.kit.ready().begin() as conn:
            acct = self.kit.accounts.get_on(conn, account)
            message_id = store.insert(conn, {
                "account_id": acct.id, "recipient": recipient, "kind": kind, "content": stored,
                "scheduled_at": due, "status": M.PENDING.value, "retry_count": 0,
                "max_retries": max_retries, "hold_count": 0, "ambiguous_count": 0,
                "created_at": now, "updated_at": now})
            job_id = self.enqueue_on(conn, message_id, acct, due, max_retries + 1)
            store.set_fields(conn, message_id, now, job_id=job_id)
        return self.get(message_id)

    def schedule_many(self, account: int | str,
                      items: Iterable[tuple[str, payloads.Content | str]], *,
                      at: datetime | str | None = None, offset: str | float | None = None,
                      tz: str | None = None, max_retries: int = 3) -> builtins.list[int]:
        """Schedule many messages of one account at one time, in one transaction: all of them
        or, when any is refused, none. Returns their ids in order."""
        checked = [self._checked(to, content, max_retries) for to, content in items]
        now, lead = self.kit.now(), self.kit.settings.min_lead
        due = timing.resolve(now, at=at, offset=offset, tz=tz, default_lead=lead)
        timing.check_lead(due, now, lead)
        ids = []
        with self.kit.ready().begin() as conn:
            acct = self.kit.accounts.get_on(conn, account)
            for recipient, body, retries in checked:
                kind, stored = payloads.dump(body)
                message_id = store.insert(conn, {
                    "account_id": acct.id, "recipient": recipient, "kind": kind,
                    "content": stored, "scheduled_at": due, "status": M.PENDING.value,
                    "retry_count": 0, "max_retries": retries, "hold_count": 0,
                    "ambiguous_count": 0, "created_at": now, "updated_at": now})
                job_id = self.enqueue_on(conn, message_id, acct, due, retries + 1)
                store.set_fields(conn, message_id, now, job_id=job_id)
                ids.append(message_id)
        return ids

    def _checked(self, to: str, content: payloads.Content | str,
                 max_retries: int) -> tuple[str, payloads.Content, int]:
        if type(max_retries) is not int or not 0 <= max_retries <= 5:
            raise InvalidMessage(f"max_retries={max_retries!r}: an integer from 0 to 5")
        body = payloads.Text(content) if isinstance(content, str) else content
        return payloads.normalize_number(to), payloads.check(body), max_retries

    def enqueue_on(self, conn: sa.Connection, message_id: int, account: Account,
                 due: datetime, attempts: int) -> int:
        """Enqueue the message's send job on `conn` (in the caller's transaction), allowed
        `attempts` tries (1 + the retries the message has left)."""
        job = self.kit.jobs.send.options(
            run_at=due, max_attempts=max(1, attempts), cost=cost_for(account.send_rate),
        ).using(conn).enqueue(message_id=message_id, account_id=account.id)
        return job.id

    def insert_on(self, conn: sa.Connection, account: Account, to: str,
                  content: payloads.Content, *, job_id: int, max_retries: int) -> int:
        """Store a message due now that the caller's running job `job_id` sends itself
        (`sending.run`), in the caller's transaction: a cart reminder, an order notification.
        It has no lead time (it is due already) and is checked like any other."""
        recipient, body, retries = self._checked(to, content, max_retries)
        now = self.kit.now()
        kind, stored = payloads.dump(body)
        return store.insert(conn, {
            "account_id": account.id, "recipient": recipient, "kind": kind, "content": stored,
            "scheduled_at": now, "status": M.PENDING.value, "retry_count": 0,
            "max_retries": retries, "hold_count": 0, "ambiguous_count": 0, "job_id": job_id,
            "created_at": now, "updated_at": now})

    # -- reading ----------------------------------------------------------------------------

    def get(self, message_id: int) -> Message:
        with self.kit.ready().begin() as conn:
            found = store.get(conn, message_id)
        if found is None:
            raise MessageNotFound(f"no message with id {message_id}")
        return found

    def list(self, where: MessageFilter | None = None, *, limit: int = 50,
             after_id: int | None = None, newest_first: bool = True) -> list[Message]:
        """One page of messages (keyset paging: pass the last id of the previous page)."""
        with self.kit.ready().begin() as conn:
            return store.query(conn, where or MessageFilter(), limit=limit, after_id=after_id,
                               newest_first=newest_first)

    def count(self, where: MessageFilter | None = None) -> int:
        with self.kit.ready().begin() as conn:
            return store.count(conn, where or MessageFilter())

    # -- changing one message ---------------------------------------------------------------

    def edit(self, message_id: int, *, to: str | None = None,
             content: payloads.Content | str | None = None, at: datetime | str | None = None,
             offset: str | float | None = None, tz: str | None = None,
             max_retries: int | None = None) -> Message:
        """Change a pending or failed message; it (re)becomes pending and its job moves to the
        new time. Unchanged fields stay; without a new time a past one means "now"."""
        now = self.kit.now()
        with self.kit.ready().begin() as conn:
            current = self._locked(conn, message_id, EDITABLE, "edited")
            recipient, body, retries = self._checked(
                to if to is not None else "+" + current.recipient,
                content if content is not None else current.content,
                max_retries if max_retries is not None else current.max_retries)
            if at is not None or offset is not None:
                due = timing.resolve(now, at=at, offset=offset, tz=tz)
                timing.check_lead(due, now, self.kit.settings.min_lead)
            else:
                due = max(current.scheduled_at, now)
            kind, stored = payloads.dump(body)
            acct = self.kit.accounts.get_on(conn, current.account_id)
            job_id = self.enqueue_on(conn, message_id, acct, due, retries + 1)
            store.move(conn, message_id, M.PENDING, now, sources=EDITABLE,
                       recipient=recipient, kind=kind, content=stored, scheduled_at=due,
                       max_retries=retries, retry_count=0, job_id=job_id, **CLEARED)
        self._cancel_jobs([current.job_id])
        return self.get(message_id)

    def cancel(self, message_id: int) -> Message:
        """Cancel a pending message (and its waiting job)."""
        with self.kit.ready().begin() as conn:
            current = self._locked(conn, message_id, {M.PENDING}, "cancelled")
            store.move(conn, message_id, M.CANCELLED, self.kit.now(), sources={M.PENDING})
        self._cancel_jobs([current.job_id])
        return self.get(message_id)

    def retry(self, message_id: int, *, force: bool = False) -> Message:
        """Send a failed message again now, with a fresh set of retries. Refuses an error that
        can never succeed (unknown number, template gone) unless `force`."""
        message, old_job = self.retry_now(message_id, force=force)
        self._cancel_jobs([old_job])
        return message

    def retry_now(self, message_id: int, *, force: bool = False) -> tuple[Message, int | None]:
        """The transaction of `retry`: (the message, the job it no longer points to)."""
        now = self.kit.now()
        with self.kit.ready().begin() as conn:
            current = self._locked(conn, message_id, {M.FAILED}, "retried")
            if not force and current.error_code in codes.HOPELESS:
                raise InvalidTransition(
                    f"message {message_id} failed with (#{current.error_code}) "
                    f"{current.error_title}: retrying cannot succeed (force=True to try)")
            acct = self.kit.accounts.get_on(conn, current.account_id)
            job_id = self.enqueue_on(conn, message_id, acct, now, current.max_retries + 1)
            store.move(conn, message_id, M.PENDING, now, sources={M.FAILED},
                       retry_count=0, job_id=job_id, **CLEARED)
            message = store.get(conn, message_id)
        if message is None:  # cannot happen: the row is locked by this transaction
            raise MessageNotFound(f"no message with id {message_id}")
        return message, current.job_id

    def delete(self, message_id: int) -> None:
        """Delete a message that is not being sent (its waiting job is cancelled)."""
        with self.kit.ready().begin() as conn:
            current = self._locked(conn, message_id, DELETABLE, "deleted")
            store.delete(conn, [message_id], sorted(DELETABLE))
        self._cancel_jobs([current.job_id])

    def _locked(self, conn: sa.Connection, message_id: int, allowed: Iterable[MessageStatus],
                verb: str) -> Message:
        current = store.get(conn, message_id, lock=True)
        if current is None:
            raise MessageNotFound(f"no message with id {message_id}")
        allowed = set(allowed)
        if current.status not in allowed:
            raise InvalidTransition(
                f"message {message_id} is {current.status}; only "
                f"{'/'.join(sorted(allowed))} messages can be {verb}")
        return current

    # -- bulk -------------------------------------------------------------------------------

    def preview(self, action: str, where: MessageFilter) -> int:
        """How many messages `bulk(action, where)` would change."""
        with self.kit.ready().begin() as conn:
            return store.count(conn, where, _bulk_statuses(action))

    def bulk(self, action: str, where: MessageFilter, *, dry_run: bool = False) -> BulkResult:
        """Cancel (pending), retry (failed) or delete (anything not being sent) every message
        `where` matches - a selection (`ids=`) or a filter - in chunks of 500, each chunk one
        transaction. `dry_run`: only count."""
        statuses = _bulk_statuses(action)
        if dry_run:
            return BulkResult(action, self.preview(action, where), True)
        total, after = 0, 0
        while True:
            changed, old_jobs, after = self._bulk_chunk(action, where, statuses, after)
            self._cancel_jobs(old_jobs)
            total += changed
            if not changed:
                return BulkResult(action, total, False)

    def _bulk_chunk(self, action: str, where: MessageFilter, statuses: Sequence[MessageStatus],
                    after: int) -> tuple[int, builtins.list[int | None], int]:
        now = self.kit.now()
        with self.kit.ready().begin() as conn:
            chunk = store.lock_ids(conn, where, statuses, CHUNK, after)
            if action == "delete":
                store.delete(conn, [m.id for m in chunk], statuses)
            for message in chunk if action != "delete" else ():
                if action == "cancel":
                    store.move(conn, message.id, M.CANCELLED, now, sources=statuses)
                else:
                    acct = self.kit.accounts.get_on(conn, message.account_id)
                    job_id = self.enqueue_on(conn, message.id, acct, now,
                                             message.max_retries + 1)
                    store.move(conn, message.id, M.PENDING, now, sources=statuses,
                               retry_count=0, job_id=job_id, **CLEARED)
        last = chunk[-1].id if chunk else after
        return len(chunk), [m.job_id for m in chunk], last

    def reconcile(self) -> dict[str, int]:
        """Settle now the messages whose job ended without settling them (the sweep the
        kit's cron runs every minute)."""
        from conveyor_commerce.messages import reconcile

        return self.kit.app.blocking.run(lambda: reconcile.sweep(self.kit))

    # -- jobs the messages no longer point to -----------------------------------------------

    def _cancel_jobs(self, job_ids: Sequence[int | None]) -> None:
        """Best effort: cancel the still-waiting jobs that no message owns any more (a job
        that runs anyway ends without sending)."""
        if any(i is not None for i in job_ids):
            self.kit.app.blocking.run(lambda: self.acancel_jobs(job_ids))

    async def acancel_jobs(self, job_ids: Sequence[int | None]) -> None:
        ids = [i for i in job_ids if i is not None]
        if not ids:
            return
        admin = self.kit.app.admin
        waiting = sorted(WAITING_STATES)
        try:
            await admin.aapply(CancelJobs(), JobFilter(ids=ids, states=waiting),
                               actor="commerce")
        except JobNotFound:  # pruned meanwhile: cancel those that still exist
            found = [job.id for job in await self.kit.app.ajobs(JobFilter(ids=ids,
                                                                           limit=len(ids)))]
            if found:
                await admin.aapply(CancelJobs(), JobFilter(ids=found, states=waiting),
                                   actor="commerce")


def _bulk_statuses(action: str) -> tuple[MessageStatus, ...]:
    if action not in BULK_STATUSES:
        raise InvalidMessage(f"bulk action {action!r}: use one of {sorted(BULK_STATUSES)}")
    return BULK_STATUSES[action]


def describe(message: Message) -> dict[str, Any]:
    """A message as plain data (CLI JSON output, dashboard)."""
    data = {f.name: getattr(message, f.name) for f in dataclasses.fields(message)}
    data["content"] = payloads.dump(message.content)[1]
    data["kind"] = message.kind
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in data.items()}
