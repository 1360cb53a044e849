"""`commerce.campaigns`: create a campaign from a recipient list, start, watch, pause, resume
and cancel it, read its recipients' outcomes; keep the opt-out list.

`create` streams the list into the recipients table (see `loader`) and, unless
`start=False`, starts it: one Conveyor batch of chunk jobs (`jobs`), whose on_success and
on_failure callbacks write the campaign's summary (`finish`). `cancel` is final: it stops
every claim at its commit, waits for the requests already on their way to be recorded, then
skips the recipients left - so once it returns, nothing more is sent.
"""

from __future__ import annotations

import builtins
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson
import sqlalchemy as sa

from conveyor_commerce import tables
from conveyor_commerce.campaigns import jobs, loader, sources
from conveyor_commerce.campaigns.model import (
    ABANDONED,
    CANCELLED,
    INVALID,
    OPTED_OUT,
    Campaign,
    CampaignStatus,
    Preview,
    Recipient,
    RecipientStatus,
)
from conveyor_commerce.errors import CampaignNotFound, InvalidCampaign, InvalidMessage
from conveyor_commerce.whatsapp import payloads

if TYPE_CHECKING:
    from conveyor_commerce.kit import Commerce

C, R = CampaignStatus, RecipientStatus
CT, RC, OPT = tables.campaigns, tables.campaign_recipients, tables.opt_outs
log = logging.getLogger("conveyor_commerce.campaigns")
Hook = Callable[[Campaign], Any]


class Campaigns:
    def __init__(self, kit: Commerce) -> None:
        self.kit = kit
        self._hooks: dict[str, list[Hook]] = {"success": [], "failure": []}

    # -- hooks -------------------------------------------------------------------------------

    def on_success(self, hook: Hook) -> Hook:
        """Call `hook(campaign)` (in the worker) when a campaign completes, after its summary
        is written."""
        self._hooks["success"].append(hook)
        return hook

    def on_failure(self, hook: Hook) -> Hook:
        """Call `hook(campaign)` when a campaign fails (its `error` says why)."""
        self._hooks["failure"].append(hook)
        return hook

    # -- creating ----------------------------------------------------------------------------

    def preview(self, recipients: sources.Source) -> Preview:
        """How many valid, invalid, duplicate and opted-out rows a list holds; stores
        nothing."""
        return loader.preview(self.kit.ready(), recipients)

    def create(self, name: str, account: int | str, content: payloads.Content | str,
               recipients: sources.Source, *, chunk_size: int | None = None,
               start: bool = True) -> Campaign:
        """A campaign sending `content` from `account` to every valid, not opted-out number
        of `recipients` (an iterable of numbers, or a CSV path or file), once each.
        Refused with `InvalidCampaign` (nothing stored) when anything is wrong."""
        size = chunk_size if chunk_size is not None else self.kit.settings.campaigns.chunk_size
        if not isinstance(name, str) or not 1 <= len(name.strip()) <= 200:
            raise InvalidCampaign("name: 1 to 200 characters")
        if type(size) is not int or not 1 <= size <= 1000:
            raise InvalidCampaign(f"chunk_size={size!r}: an integer from 1 to 1000")
        body = payloads.Text(content) if isinstance(content, str) else content
        try:
            kind, stored = payloads.dump(payloads.check(body))
        except (InvalidMessage, TypeError, ValueError) as exc:
            raise InvalidCampaign(f"content: {exc}") from None
        db, now = self.kit.ready(), self.kit.now()
        with db.begin() as conn:
            acct = self.kit.accounts.get_on(conn, account)
            campaign_id = int(conn.execute(sa.insert(CT).values(
                name=name.strip(), account_id=acct.id, kind=kind, content=stored,
                status=C.DRAFT.value, chunk_size=size, recipients=0, pending=0, sent=0,
                failed=0, skipped=0, invalid=0, duplicates=0, opted_out=0, created_at=now,
                updated_at=now).returning(CT.c.id)).scalar_one())
        try:
            read = loader.load(db, campaign_id, recipients, size, now)
            self._count(campaign_id, read)
        except BaseException:
            with db.begin() as conn:
                conn.execute(sa.delete(RC).where(RC.c.campaign_id == campaign_id))
                conn.execute(sa.delete(CT).where(CT.c.id == campaign_id))
            raise
        return self.start(campaign_id) if start else self.get(campaign_id)

    def _count(self, campaign_id: int, read: int) -> None:
        """The campaign's counters, from its recipients table once loaded."""
        with self.kit.ready().begin() as conn:
            found: dict[str, int] = dict(conn.execute(sa.select(RC.c.status, sa.func.count()).where(
                RC.c.campaign_id == campaign_id).group_by(RC.c.status)).all())
            invalid = conn.execute(sa.select(sa.func.count()).where(
                RC.c.campaign_id == campaign_id, RC.c.status == R.SKIPPED.value,
                RC.c.reason.like(f"{INVALID}%"))).scalar_one()
            blocked = conn.execute(sa.select(sa.func.count()).where(
                RC.c.campaign_id == campaign_id, RC.c.reason == OPTED_OUT)).scalar_one()
            stored = sum(found.values())
            conn.execute(sa.update(CT).where(CT.c.id == campaign_id).values(
                recipients=stored, pending=found.get(R.PENDING.value, 0),
                skipped=found.get(R.SKIPPED.value, 0), invalid=invalid, opted_out=blocked,
                duplicates=read - stored, updated_at=self.kit.now()))

    def start(self, campaign_id: int) -> Campaign:
        """Start a draft campaign: its chunks become one Conveyor batch."""
        now = self.kit.now()
        with self.kit.ready().begin() as conn:
            row = self._locked(conn, campaign_id)
            if row["status"] != C.DRAFT.value:
                raise InvalidCampaign(f"campaign {campaign_id} is {row['status']}; only a "
                                      "draft can be started")
            account = self.kit.accounts.get_on(conn, int(row["account_id"]))
            conn.execute(sa.update(CT).where(CT.c.id == campaign_id).values(
                status=C.RUNNING.value, started_at=now, updated_at=now))
            chunks = conn.execute(sa.select(RC.c.chunk, sa.func.count()).where(
                RC.c.campaign_id == campaign_id, RC.c.status == R.PENDING.value)
                .group_by(RC.c.chunk).order_by(RC.c.chunk)).all()
        if not chunks:
            self.finish(campaign_id, "success")
            return self.get(campaign_id)
        kit_jobs, pace = self.kit.campaign_jobs, self.kit.settings.campaigns.pace
        calls = (kit_jobs.chunk.options(cost=jobs.chunk_cost(count, account.send_rate, pace))
                 .s(campaign_id=campaign_id, account_id=account.id, chunk=chunk)
                 for chunk, count in chunks)
        try:
            batch = self.kit.app.batch(
                calls, name=f"campaign {campaign_id}: {row['name']}"[:200],
                on_success=kit_jobs.finish.s(campaign_id, "success"),
                on_failure=kit_jobs.finish.s(campaign_id, "failure"),
                on_complete=kit_jobs.finish.s(campaign_id, "complete"))
        except Exception as exc:
            with self.kit.ready().begin() as conn:
                conn.execute(sa.update(CT).where(CT.c.id == campaign_id).values(
                    status=C.DRAFT.value, started_at=None, error=f"start failed: {exc}"[:500],
                    updated_at=self.kit.now()))
            raise
        with self.kit.ready().begin() as conn:
            conn.execute(sa.update(CT).where(CT.c.id == campaign_id).values(
                batch_id=batch.id, updated_at=self.kit.now()))
        log.info("campaign %s started: %s chunks", campaign_id, len(chunks))
        return self.get(campaign_id)

    # -- reading -----------------------------------------------------------------------------

    def get(self, campaign_id: int) -> Campaign:
        with self.kit.ready().begin() as conn:
            row = conn.execute(sa.select(CT).where(CT.c.id == campaign_id)).mappings().first()
        if row is None:
            raise CampaignNotFound(f"no campaign with id {campaign_id}")
        return Campaign.from_row(row)

    def list(self, *, statuses: Sequence[CampaignStatus | str] = (),
             limit: int = 50) -> builtins.list[Campaign]:
        query = sa.select(CT).order_by(CT.c.id.desc()).limit(max(1, min(limit, 1000)))
        if statuses:
            query = query.where(CT.c.status.in_([C(s).value for s in statuses]))
        with self.kit.ready().begin() as conn:
            return [Campaign.from_row(row) for row in conn.execute(query).mappings()]

    def recipients(self, campaign_id: int, *, statuses: Sequence[RecipientStatus | str] = (),
                   phone: str | None = None, error_code: int | None = None, limit: int = 100,
                   after_id: int | None = None) -> builtins.list[Recipient]:
        """One page of a campaign's recipients in id order (keyset: pass the last id)."""
        query = sa.select(RC).where(RC.c.campaign_id == campaign_id).order_by(RC.c.id) \
            .limit(max(1, min(limit, 1000)))
        if statuses:
            query = query.where(RC.c.status.in_([R(s).value for s in statuses]))
        if phone:
            query = query.where(RC.c.phone.contains(phone.strip().lstrip("+"),
                                                    autoescape=True))
        if error_code is not None:
            query = query.where(RC.c.error_code == error_code)
        if after_id is not None:
            query = query.where(RC.c.id > after_id)
        with self.kit.ready().begin() as conn:
            return [Recipient.from_row(row) for row in conn.execute(query).mappings()]

    def tally(self, campaign_id: int) -> dict[str, int]:
        """Recipients per status, counted in the table (the counters must match it)."""
        with self.kit.ready().begin() as conn:
            found: dict[str, int] = dict(conn.execute(sa.select(RC.c.status, sa.func.count()).where(
                RC.c.campaign_id == campaign_id).group_by(RC.c.status)).all())
        return {status.value: int(found.get(status.value, 0)) for status in R}

    # -- changing ----------------------------------------------------------------------------

    def pause(self, campaign_id: int) -> Campaign:
        """Stop claiming recipients (within one slice); resume goes on where it stopped."""
        self._move(campaign_id, C.RUNNING, C.PAUSED, "pause")
        self.kit.app.admin.pause(key=jobs.campaign_storage_key(campaign_id),
                                 actor="commerce:campaign-pause")
        return self.get(campaign_id)

    def resume(self, campaign_id: int) -> Campaign:
        self._move(campaign_id, C.PAUSED, C.RUNNING, "resume")
        self.kit.app.admin.pause(key=jobs.campaign_storage_key(campaign_id), paused=False,
                                 actor="commerce:campaign-resume")
        return self.get(campaign_id)

    def _move(self, campaign_id: int, source: CampaignStatus, target: CampaignStatus,
              verb: str) -> None:
        with self.kit.ready().begin() as conn:
            row = self._locked(conn, campaign_id)
            if row["status"] != source.value:
                raise InvalidCampaign(f"campaign {campaign_id} is {row['status']}; only a "
                                      f"{source.value} campaign can {verb}")
            conn.execute(sa.update(CT).where(CT.c.id == campaign_id).values(
                status=target.value, updated_at=self.kit.now()))

    def cancel(self, campaign_id: int, *, wait: float | None = None) -> Campaign:
        """Cancel for good: no claim after this call's first commit (and no chunk starts:
        the campaign's key is paused); requests already on their way (at most a slice per
        running chunk) are recorded, waiting up to `wait` seconds; the recipients left are
        skipped; then the batch's waiting chunks are cancelled. Returns once nothing more
        can be sent."""
        with self.kit.ready().begin() as conn:
            row = self._locked(conn, campaign_id)
            status = C(row["status"])
            if status not in (C.DRAFT, C.RUNNING, C.PAUSED, C.CANCELLING):
                raise InvalidCampaign(f"campaign {campaign_id} is {status}; it cannot be "
                                      "cancelled")
            conn.execute(sa.update(CT).where(CT.c.id == campaign_id).values(
                status=C.CANCELLING.value, updated_at=self.kit.now()))
        key = jobs.campaign_storage_key(campaign_id)
        admin = self.kit.app.admin
        admin.pause(key=key, actor="commerce:campaign-cancel")  # no chunk starts from now
        limit = time.monotonic() + (self.kit.settings.campaigns.cancel_wait
                                    if wait is None else wait)
        while self._in_flight(campaign_id) and time.monotonic() < limit:
            time.sleep(0.02)
        with self.kit.ready().begin() as conn:
            self._locked(conn, campaign_id)
            self._settle(conn, campaign_id, R.PROCESSING, R.FAILED,
                         "ambiguous: its request was on its way when the campaign was "
                         "cancelled")
            self._settle(conn, campaign_id, R.PENDING, R.SKIPPED, CANCELLED)
            self._close(conn, campaign_id, C.CANCELLED, None)
        # Only now: cancelling a chunk job mid-send would lose the outcomes of its requests.
        if row["batch_id"] is not None:
            self.kit.app.cancel_batch(int(row["batch_id"]), actor="commerce:campaign-cancel")
        admin.pause(key=key, paused=False, actor="commerce:campaign-cancel")
        log.info("campaign %s cancelled", campaign_id)
        return self.get(campaign_id)

    def _in_flight(self, campaign_id: int) -> int:
        with self.kit.ready().begin() as conn:
            return int(conn.execute(sa.select(sa.func.count()).where(
                RC.c.campaign_id == campaign_id, RC.c.status == R.PROCESSING.value))
                .scalar_one())

    def fail(self, campaign_id: int, reason: str) -> None:
        """Mark a running campaign failed with `reason` (its summary follows from the batch's
        on_failure callback)."""
        with self.kit.ready().begin() as conn:
            conn.execute(sa.update(CT).where(
                CT.c.id == campaign_id, CT.c.status.in_([C.RUNNING.value, C.PAUSED.value]))
                .values(status=C.FAILED.value, error=reason[:1000], updated_at=self.kit.now()))
        log.error("campaign %s failed: %s", campaign_id, reason)

    def finish(self, campaign_id: int, outcome: str) -> dict[str, Any]:
        """The batch's callback: close the campaign with its summary, then call the hooks."""
        with self.kit.ready().begin() as conn:
            row = self._locked(conn, campaign_id)
            status = C(row["status"])
            if status in (C.CANCELLING, C.CANCELLED) or row["summary"] is not None:
                return {"campaign_id": campaign_id, "unchanged": status.value}
            finished = outcome == "success" or (outcome == "complete" and row["pending"] == 0)
            if finished and status != C.FAILED:
                self._settle(conn, campaign_id, R.PENDING, R.SKIPPED, ABANDONED)
                self._close(conn, campaign_id, C.COMPLETED, None)
            else:
                self._settle(conn, campaign_id, R.PENDING, R.SKIPPED, ABANDONED)
                self._settle(conn, campaign_id, R.PROCESSING, R.FAILED,
                             "ambiguous: its chunk ended without recording the answer")
                self._close(conn, campaign_id, C.FAILED, row["error"] or
                            "a chunk gave up after its last try, or was cancelled (see the "
                            "campaign's batch)")
        campaign = self.get(campaign_id)
        for hook in self._hooks["success" if campaign.status == C.COMPLETED else "failure"]:
            hook(campaign)
        log.info("campaign %s %s: %s", campaign_id, campaign.status, campaign.summary)
        return dict(campaign.summary or {})

    def _locked(self, conn: sa.Connection, campaign_id: int) -> Any:
        row = conn.execute(sa.select(CT).where(CT.c.id == campaign_id).with_for_update()) \
            .mappings().first()
        if row is None:
            raise CampaignNotFound(f"no campaign with id {campaign_id}")
        return row

    def _settle(self, conn: sa.Connection, campaign_id: int, source: RecipientStatus,
                target: RecipientStatus, reason: str) -> None:
        now = self.kit.now()
        changed = conn.execute(sa.update(RC).where(
            RC.c.campaign_id == campaign_id, RC.c.status == source.value).values(
            status=target.value, reason=reason, updated_at=now)).rowcount
        if changed:
            column = target.value
            conn.execute(sa.update(CT).where(CT.c.id == campaign_id).values(
                {column: getattr(CT.c, column) + changed, "pending": CT.c.pending - changed}))

    def _close(self, conn: sa.Connection, campaign_id: int, status: CampaignStatus,
               error: str | None) -> None:
        """Final status and the summary, from the campaign's counters and its table."""
        now = self.kit.now()
        row = conn.execute(sa.select(CT).where(CT.c.id == campaign_id)).mappings().one()
        failures = sa.select(RC.c.error_code, sa.func.count()).where(
            RC.c.campaign_id == campaign_id, RC.c.status == R.FAILED.value) \
            .group_by(RC.c.error_code)
        codes: dict[int | None, int] = {row[0]: row[1] for row in conn.execute(failures)}
        started: datetime | None = row["started_at"]
        seconds = (now - started).total_seconds() if started else 0.0
        summary = {
            "outcome": status.value, "recipients": row["recipients"], "sent": row["sent"],
            "failed": row["failed"], "skipped": row["skipped"], "pending": row["pending"],
            "invalid": row["invalid"], "duplicates": row["duplicates"],
            "opted_out": row["opted_out"], "seconds": round(seconds, 3),
            "rate": round((row["sent"] + row["failed"]) / seconds, 1) if seconds > 0 else 0.0,
            "failures_by_code": {str(k): v for k, v in codes.items()}, "error": error}
        conn.execute(sa.update(CT).where(CT.c.id == campaign_id).values(
            status=status.value, error=error, summary=orjson.dumps(summary).decode(),
            finished_at=now, updated_at=now))

    # -- opt-outs ----------------------------------------------------------------------------

    def opt_out(self, numbers: Iterable[str], reason: str = "") -> int:
        """Add numbers to the opt-out list (they are skipped by campaigns created from now
        on); returns how many were new. An invalid number is refused, nothing stored."""
        phones = sorted({_number(n) for n in numbers})
        now, added = self.kit.now(), 0
        with self.kit.ready().begin() as conn:
            known = loader.opted_out(conn, phones)
            fresh = [p for p in phones if p not in known]
            if fresh:
                conn.execute(sa.insert(OPT), [{"phone": p, "reason": reason[:500],
                                               "created_at": now} for p in fresh])
                added = len(fresh)
        return added

    def opt_in(self, number: str) -> bool:
        with self.kit.ready().begin() as conn:
            return bool(conn.execute(sa.delete(OPT).where(OPT.c.phone == _number(number)))
                        .rowcount)

    def opted_out(self, number: str) -> bool:
        with self.kit.ready().begin() as conn:
            return bool(loader.opted_out(conn, [_number(number)]))


def _number(number: str) -> str:
    try:
        return payloads.normalize_number(number)
    except InvalidMessage as exc:
        raise InvalidCampaign(str(exc)) from None
