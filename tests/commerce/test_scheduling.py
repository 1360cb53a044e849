"""Scheduling, editing, cancelling, retrying and deleting messages: each message is one job
at its time, message and job change together, and bad input stores nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from conveyor import Conveyor, FrozenClock, JobFilter, JobState
from conveyor_commerce import (
    Commerce,
    CommerceSettings,
    InvalidMessage,
    InvalidTransition,
    MessageFilter,
    MessageStatus,
    Template,
)
from conveyor_commerce.messages import store
from conveyor_commerce.sandbox import SandboxServer
from conveyor_commerce.whatsapp.accounts import Account
from tests.commerce.conftest import advance, drain, job_state, sends_to

M = MessageStatus
TO = "48600100200"


def test_schedule_is_one_job_at_the_time_and_never_early(kit: Commerce, account: Account,
                                                         sandbox: SandboxServer) -> None:
    message = kit.messages.schedule("shop", "+48 600 100 200", "Your order shipped",
                                    offset="+30m")
    job = kit.app.get(message.job_id or 0)
    assert (job.state, job.run_at, job.max_attempts) == (JobState.SCHEDULED,
                                                         message.scheduled_at, 4)
    assert job.kwargs == {"message_id": message.id, "account_id": account.id}
    advance(kit, 29 * 60 + 59)
    drain(kit)
    assert (kit.messages.get(message.id).status, sends_to(sandbox, TO)) == (M.PENDING, 0)
    advance(kit, 1)
    drain(kit)
    sent = kit.messages.get(message.id)
    assert sent.status == M.SENT and sent.meta_message_id and sent.wa_id == TO
    assert sent.sent_at is not None and sent.sent_at >= sent.scheduled_at
    assert (sends_to(sandbox, TO), job_state(kit, sent.job_id)) == (1, JobState.COMPLETED)
    record = sandbox.state.sent_log()[0]
    assert record.wamid == sent.meta_message_id
    assert record.opaque == f"conveyor:msg:{sent.id}:job:{sent.job_id}"


def test_local_time_with_a_zone_is_stored_in_utc(kit: Commerce, account: Account) -> None:
    tomorrow = (kit.now() + timedelta(days=1)).date()
    local = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 9, 0)
    message = kit.messages.schedule("shop", TO, "hi", at=local, tz="Europe/Warsaw")
    expected = local.replace(tzinfo=ZoneInfo("Europe/Warsaw"))
    assert message.scheduled_at == expected.astimezone(UTC)
    assert message.scheduled_at.tzinfo == UTC


@pytest.mark.parametrize(("to", "content", "when", "error"), [
    ("12", "hi", {}, "not a phone number"),
    ("+1 555 123 4567", "hi", {}, "not a valid international number"),
    ("+48 600 100 200", "", {}, "non-empty"),
    ("+48 600 100 200", "x" * 4097, {}, "4096"),
    ("+48 600 100 200", Template("order_update", "en_US", body=("",)), {}, "non-empty"),
    ("+48 600 100 200", Template("order_update", "e", body=("a",)), {}, "language"),
    ("+48 600 100 200", "hi", {"at": datetime(2030, 1, 1, 9)}, "no zone"),
    ("+48 600 100 200", "hi", {"offset": "+5x"}, "offset"),
    ("+48 600 100 200", "hi", {"at": "yesterday"}, "ISO 8601"),
])
def test_bad_input_is_refused_and_nothing_is_stored(kit: Commerce, account: Account, to: str,
                                                    content: object, when: dict[str, object],
                                                    error: str) -> None:
    with pytest.raises(InvalidMessage, match=error):
        kit.messages.schedule("shop", to, content, **when)  # type: ignore[arg-type]
    assert kit.messages.count() == 0
    assert kit.app.jobs(JobFilter()) == []


def test_minimum_lead_is_enforced(url: str, clock: FrozenClock, account: Account) -> None:
    app = Conveyor(url, clock=clock)
    strict = Commerce(app, settings=CommerceSettings(min_lead=300))
    try:
        with pytest.raises(InvalidMessage, match="less than 5 minutes ahead"):
            strict.messages.schedule("shop", TO, "hi", offset="+1m")
        assert strict.messages.schedule("shop", TO, "hi", offset="+5m").status == M.PENDING
        assert strict.messages.schedule("shop", TO, "hi").scheduled_at == \
            clock.now() + timedelta(minutes=5)
    finally:
        strict.close()
        app.close()


def test_edit_moves_the_job_and_the_old_job_never_sends(kit: Commerce, account: Account,
                                                        sandbox: SandboxServer) -> None:
    message = kit.messages.schedule("shop", TO, "first", offset="+10m")
    old_job = message.job_id
    edited = kit.messages.edit(message.id, content="second", offset="+1h",
                               to="+48 600 100 201")
    assert edited.job_id != old_job and edited.status == M.PENDING
    assert job_state(kit, old_job) == JobState.CANCELLED
    assert kit.app.get(edited.job_id or 0).run_at == edited.scheduled_at
    advance(kit, 3600)
    drain(kit)
    done = kit.messages.get(message.id)
    assert done.status == M.SENT and sends_to(sandbox, "48600100201") == 1
    assert sandbox.state.sent_log()[0].body["text"]["body"] == "second"
    assert sends_to(sandbox, TO) == 0


def test_cancel_and_delete(kit: Commerce, account: Account, sandbox: SandboxServer) -> None:
    first = kit.messages.schedule("shop", TO, "a", offset="+10m")
    second = kit.messages.schedule("shop", TO, "b", offset="+10m")
    cancelled = kit.messages.cancel(first.id)
    assert cancelled.status == M.CANCELLED and job_state(kit, first.job_id) == JobState.CANCELLED
    with pytest.raises(InvalidTransition, match="only pending"):
        kit.messages.cancel(first.id)
    with pytest.raises(InvalidTransition):
        kit.messages.edit(first.id, content="again")
    kit.messages.delete(second.id)
    assert job_state(kit, second.job_id) == JobState.CANCELLED
    advance(kit, 600)
    drain(kit)
    assert kit.messages.count() == 1 and sends_to(sandbox, TO) == 0


def test_an_old_job_that_runs_anyway_ends_without_sending(kit: Commerce, account: Account,
                                                          sandbox: SandboxServer) -> None:
    """The best-effort cancel of the old job did not happen (a crash right after the commit):
    the old job runs, sees the message is not its own, and ends cancelled."""
    message = kit.messages.schedule("shop", TO, "first", offset=0)
    old_job = message.job_id
    with kit.db.begin() as conn:  # an edit's transaction, without the cancel that follows it
        job_id = kit.messages.enqueue_on(conn, message.id, account,
                                         kit.now() + timedelta(hours=1), 4)
        store.set_fields(conn, message.id, kit.now(), job_id=job_id)
    drain(kit)
    old = kit.app.get(old_job or 0)
    assert old.state == JobState.CANCELLED and sends_to(sandbox, TO) == 0
    assert kit.messages.get(message.id).status == M.PENDING


def test_retry_a_failed_message_and_refuse_a_hopeless_one(kit: Commerce, account: Account,
                                                          sandbox: SandboxServer) -> None:
    sandbox.state.inject("error", code=131000, recipient=TO)
    sandbox.state.inject("error", code=131026, recipient="48600100201")
    flaky = kit.messages.schedule("shop", TO, "a", offset=0, max_retries=0)
    hopeless = kit.messages.schedule("shop", "48600100201", "b", offset=0)
    drain(kit)
    assert kit.messages.get(flaky.id).status == M.FAILED
    assert kit.messages.get(hopeless.id).error_code == 131026
    with pytest.raises(InvalidTransition, match="cannot succeed"):
        kit.messages.retry(hopeless.id)
    retried = kit.messages.retry(flaky.id)
    assert retried.status == M.PENDING and retried.error_code is None
    assert kit.app.get(retried.job_id or 0).state == JobState.AVAILABLE
    drain(kit)
    assert kit.messages.get(flaky.id).status == M.SENT


def test_bulk_actions_with_preview(kit: Commerce, account: Account,
                                   sandbox: SandboxServer) -> None:
    pending = [kit.messages.schedule("shop", f"4860010{i:04d}", f"m{i}", offset="+1h")
               for i in range(7)]
    sandbox.state.inject("error", code=131000, times=3)
    failing = [kit.messages.schedule("shop", f"4860020{i:04d}", f"f{i}", offset=0,
                                     max_retries=0) for i in range(3)]
    drain(kit)
    assert kit.messages.count(MessageFilter(statuses=[M.FAILED])) == 3
    where = MessageFilter(account_ids=[account.id])
    assert kit.messages.preview("cancel", where) == 7
    assert kit.messages.bulk("cancel", MessageFilter(ids=[m.id for m in pending[:2]]),
                             dry_run=True).count == 2
    assert kit.messages.bulk("cancel", MessageFilter(ids=[m.id for m in pending[:2]])).count == 2
    assert kit.messages.preview("retry", where) == 3
    assert kit.messages.bulk("retry", where).count == 3
    drain(kit)
    assert all(kit.messages.get(m.id).status == M.SENT for m in failing)
    assert kit.messages.preview("delete", where) == 10
    assert kit.messages.bulk("delete", MessageFilter(text="m")).count == 7
    states = {kit.app.get(m.job_id or 0).state for m in pending}
    assert states == {JobState.CANCELLED}
    with pytest.raises(InvalidMessage, match="bulk action"):
        kit.messages.bulk("explode", where)
