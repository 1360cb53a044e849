"""The sweep that settles messages whose job ended without settling them.

A send job normally moves its message itself. It cannot when it ends from outside: its
worker was lost and the leader's rescue discarded it (its tries used up), an operator
cancelled or deleted it with Conveyor's own commands, or the database failed under its last
try. Such a message would stay `pending` or `processing` for ever with no job to move it;
this sweep (a Conveyor cron job, every minute) finds them and settles them: `cancelled` when
an operator cancelled a waiting message's job, otherwise `failed` with why, so a person can
retry it (a `processing` one may have been sent: its outcome is unknown).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from conveyor import Job, JobFilter, JobState
from conveyor_commerce.messages import store
from conveyor_commerce.messages.model import Message, MessageFilter, MessageStatus

if TYPE_CHECKING:
    from conveyor_commerce.kit import Commerce

M = MessageStatus
PAGE = 500


async def sweep(kit: Commerce) -> dict[str, int]:
    """Settle every orphaned message; returns how many became failed and cancelled."""
    settled = {"failed": 0, "cancelled": 0}
    after = 0
    while True:
        page = await kit.in_thread(functools.partial(_page, kit, after))
        if not page:
            return settled
        ids = [m.job_id for m in page if m.job_id is not None]
        jobs = {job.id: job for job in await kit.app.ajobs(JobFilter(ids=ids, limit=len(ids)))}
        orphans = [(m, jobs.get(m.job_id or 0)) for m in page
                   if m.job_id not in jobs or jobs[m.job_id or 0].is_final]
        outcomes = await kit.in_thread(functools.partial(_settle_all, kit, orphans))
        for outcome in outcomes:
            if outcome is not None:
                settled[outcome] += 1
        after = page[-1].id


def _page(kit: Commerce, after: int) -> list[Message]:
    with kit.ready().begin() as conn:
        return store.query(conn, MessageFilter(statuses=[M.PENDING, M.PROCESSING]),
                           limit=PAGE, after_id=after)


def _settle_all(kit: Commerce, orphans: list[tuple[Message, Job | None]]) -> list[str | None]:
    return [_settle(kit, message, job) for message, job in orphans]


def _settle(kit: Commerce, message: Message, job: Job | None) -> str | None:
    now = kit.now()
    owner = message.job_id or 0
    with kit.ready().begin() as conn:
        if job is not None and job.state == JobState.CANCELLED and message.status == M.PENDING:
            moved = store.move(conn, message.id, M.CANCELLED, now, owner=owner,
                               sources={M.PENDING})
            return "cancelled" if moved else None
        why = ("its job was deleted" if job is None else
               f"its job ended {job.state} ({job.errors[-1].message if job.errors else '-'})")
        if message.status == M.PROCESSING:
            why += "; the send's outcome is unknown: it may have been sent"
        moved = store.move(conn, message.id, M.FAILED, now, owner=owner,
                           sources={message.status}, error_code=None,
                           error_title=why[:500], error_detail=None)
    return "failed" if moved else None
