"""Each class of WhatsApp error ends in the right state with the right attempts used, against
the sandbox (errors are produced for real where the sandbox can: closed 24-hour window,
unknown template, parameter count, expired token; injected otherwise)."""

from __future__ import annotations

import socket

import pytest

from conveyor import JobState
from conveyor_commerce import Commerce, MessageStatus, Template
from conveyor_commerce.sandbox import SandboxServer
from conveyor_commerce.whatsapp import codes
from conveyor_commerce.whatsapp.accounts import Account, storage_key
from tests.commerce.conftest import NUMBER, TOKEN, advance, drain, sends_to

M = MessageStatus
TO, OTHER = "48600100200", "48600100201"


def _job(kit: Commerce, message_id: int) -> tuple[JobState, int]:
    job = kit.app.get(kit.messages.get(message_id).job_id or 0)
    return job.state, job.attempt


@pytest.mark.parametrize(("setup", "content", "code"), [
    ("closed_window", "hi", 131047),
    (None, Template("no_such_template", "en_US"), 132001),
    (None, Template("order_update", "de_DE", body=("a", "b")), 132001),
    (None, Template("order_update", "en_US", body=("only one",)), 132000),
    (None, Template("paused_promo", "en_US", body=("x",)), None),
    (None, Template("disabled_promo", "en_US", body=("x",)), 132016),
    ("inject:131026", "hi", 131026),
    ("inject:131021", "hi", 131021),
    ("inject:130497", "hi", 130497),
])
def test_errors_that_cannot_succeed_fail_the_message_at_once(
        kit: Commerce, account: Account, sandbox: SandboxServer, setup: str | None,
        content: object, code: int | None) -> None:
    if setup == "closed_window":
        sandbox.state.set_recipients(closed_window=[TO])
    elif setup is not None:
        sandbox.state.inject("error", code=int(setup.split(":")[1]), recipient=TO)
    message = kit.messages.schedule("shop", TO, content, offset=0)  # type: ignore[arg-type]
    drain(kit)
    after = kit.messages.get(message.id)
    if code is None:  # 132015: the template is paused - the message waits 3 h, no try used
        assert (after.status, after.error_code, after.retry_count) == (M.PENDING, 132015, 0)
        assert _job(kit, message.id) == (JobState.SCHEDULED, 0)
        return
    assert (after.status, after.error_code, after.retry_count) == (M.FAILED, code, 0)
    assert codes.rule_for(code).action == codes.Action.DISCARD
    assert after.error_title and after.fbtrace_id and after.meta_message_id is None
    assert _job(kit, message.id) == (JobState.CANCELLED, 1)
    assert sends_to(sandbox, TO) == 0


def test_transient_errors_retry_with_the_backoff_and_use_retries(
        kit: Commerce, account: Account, sandbox: SandboxServer) -> None:
    sandbox.state.inject("error", code=131000, recipient=TO)
    sandbox.state.inject("bare5xx", recipient=TO)
    message = kit.messages.schedule("shop", TO, "hi", offset=0)
    drain(kit)
    first = kit.messages.get(message.id)
    assert (first.status, first.retry_count, first.error_code) == (M.PENDING, 1, 131000)
    job = kit.app.get(first.job_id or 0)
    assert (job.state, job.attempt) == (JobState.RETRYABLE, 1)
    assert (job.run_at - kit.now()).total_seconds() == pytest.approx(60)
    advance(kit, 60)
    drain(kit)
    second = kit.messages.get(message.id)
    assert (second.status, second.retry_count, second.error_code) == (M.PENDING, 2, None)
    assert (kit.app.get(second.job_id or 0).run_at - kit.now()).total_seconds() == \
        pytest.approx(300)
    advance(kit, 300)
    drain(kit)
    done = kit.messages.get(message.id)
    assert (done.status, done.retry_count) == (M.SENT, 2)
    assert _job(kit, message.id) == (JobState.COMPLETED, 3)
    assert sends_to(sandbox, TO) == 1


def test_retries_used_up_fail_the_message_and_discard_the_job(
        kit: Commerce, account: Account, sandbox: SandboxServer) -> None:
    sandbox.state.inject("error", code=131016, recipient=TO, times=5)
    message = kit.messages.schedule("shop", TO, "hi", offset=0, max_retries=1)
    drain(kit)
    advance(kit, 60)
    drain(kit)
    after = kit.messages.get(message.id)
    assert (after.status, after.error_code, after.retry_count) == (M.FAILED, 131016, 1)
    assert _job(kit, message.id) == (JobState.DISCARDED, 2)


def test_unreachable_api_is_retried_as_not_sent(kit: Commerce, sandbox: SandboxServer) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    kit.accounts.add("down", NUMBER, TOKEN, base_url=f"http://127.0.0.1:{closed_port}",
                     send_rate=80)
    message = kit.messages.schedule("down", TO, "hi", offset=0)
    drain(kit)
    after = kit.messages.get(message.id)
    assert after.status == M.PENDING and "did not reach" in (after.error_title or "")
    assert _job(kit, message.id) == (JobState.RETRYABLE, 1)


def test_rate_limit_hit_throttles_the_number_without_using_a_try(
        kit: Commerce, account: Account, sandbox: SandboxServer) -> None:
    sandbox.state.inject("error", code=130429)
    message = kit.messages.schedule("shop", TO, "hi", offset=0)
    kit.app.drain([kit.settings.queue])
    after = kit.messages.get(message.id)
    assert (after.status, after.error_code, after.retry_count) == (M.PENDING, 130429, 0)
    assert _job(kit, message.id) == (JobState.SCHEDULED, 0)  # no attempt used
    key = next(k for k in kit.app.admin.limits().keys if k.key == storage_key(account.id))
    blocked = (key.blocked_until - kit.now()).total_seconds()
    assert 2.0 <= blocked <= 3.0  # 130429: back off 2-3 s, for every worker
    advance(kit, blocked)
    kit.app.drain([kit.settings.queue])
    assert kit.messages.get(message.id).status == M.SENT
    assert _job(kit, message.id) == (JobState.COMPLETED, 1)


def test_pair_rate_limit_holds_only_that_recipient(kit: Commerce, account: Account,
                                                   sandbox: SandboxServer) -> None:
    sandbox.state.inject("error", code=131056, recipient=TO, times=2)
    held = kit.messages.schedule("shop", TO, "to the busy one", offset=0)
    free = kit.messages.schedule("shop", OTHER, "to another", offset=0)
    kit.app.drain([kit.settings.queue])
    first = kit.messages.get(held.id)
    assert (first.status, first.hold_count, first.error_code) == (M.PENDING, 1, 131056)
    job = kit.app.get(first.job_id or 0)
    assert (job.state, job.attempt) == (JobState.SCHEDULED, 0)
    assert (job.run_at - kit.now()).total_seconds() == pytest.approx(1.0)  # 4**0 s
    advance(kit, 0.5)  # the account's next slot, before the held recipient's
    kit.app.drain([kit.settings.queue])
    assert kit.messages.get(free.id).status == M.SENT
    assert kit.messages.get(held.id).status == M.PENDING
    advance(kit, 0.5)
    kit.app.drain([kit.settings.queue])
    second = kit.app.get(first.job_id or 0)
    assert (second.run_at - kit.now()).total_seconds() == pytest.approx(4.0)  # 4**1 s
    advance(kit, 4)
    drain(kit)
    done = kit.messages.get(held.id)
    assert (done.status, done.retry_count, done.hold_count) == (M.SENT, 0, 2)
    assert _job(kit, held.id) == (JobState.COMPLETED, 1)


def test_expired_token_stops_the_account_and_rotation_resumes_it(
        kit: Commerce, account: Account, sandbox: SandboxServer,
        caplog: pytest.LogCaptureFixture) -> None:
    sandbox.state.add_number("206540352242922", "other-token")
    other = kit.accounts.add("other", "206540352242922", "other-token", base_url=sandbox.url)
    sandbox.state.expire_token(NUMBER)
    mine = [kit.messages.schedule("shop", f"4860010020{i}", f"m{i}", offset=0)
            for i in range(3)]
    theirs = kit.messages.schedule("other", OTHER, "unaffected", offset=0)
    kit.app.drain([kit.settings.queue])
    stopped = kit.accounts.get("shop")
    assert (stopped.status, stopped.stop_code) == ("stopped", 190)
    assert "rotate" in (stopped.stop_reason or "") or "token" in (stopped.stop_reason or "")
    assert any("ALERT" in r.message and "stopped" in r.message for r in caplog.records)
    assert kit.messages.get(theirs.id).status == M.SENT and other.status == "active"
    assert {kit.messages.get(m.id).status for m in mine} == {M.PENDING}
    assert {_job(kit, m.id)[1] for m in mine} == {0}  # waiting, no attempt used
    paused = {k.key: k.paused for k in kit.app.admin.limits().keys}
    assert paused[storage_key(account.id)] is True
    advance(kit, 3600)
    kit.app.drain([kit.settings.queue])  # an hour later: still waiting, nothing lost
    assert {kit.messages.get(m.id).status for m in mine} == {M.PENDING}
    sandbox.state.set_token(NUMBER, "EAAG-rotated-token")
    assert kit.accounts.rotate_token("shop", "EAAG-rotated-token").status == "active"
    advance(kit, 30)
    drain(kit)
    assert {kit.messages.get(m.id).status for m in mine} == {M.SENT}
    assert {_job(kit, m.id) for m in mine} == {(JobState.COMPLETED, 1)}
    assert sends_to(sandbox, "48600100200") == 1


def test_ambiguous_timeout_is_recorded_and_resent_after_the_grace(
        kit: Commerce, account: Account, sandbox: SandboxServer) -> None:
    """The sandbox accepts the message but answers after the client gave up: the kit cannot
    know; without a status webhook to confirm it, policy "resend" sends it again after the
    grace period - one duplicate, counted in the sandbox's own log."""
    sandbox.state.inject("timeout_after_accept", delay=2.0, recipient=TO)
    message = kit.messages.schedule("shop", TO, "hi", offset=0)
    kit.app.drain([kit.settings.queue])
    after = kit.messages.get(message.id)
    assert after.status == M.PROCESSING and (after.error_title or "").startswith("ambiguous")
    job = kit.app.get(after.job_id or 0)
    assert (job.state, job.attempt) == (JobState.RETRYABLE, 1)
    assert (job.run_at - kit.now()).total_seconds() == pytest.approx(30)
    advance(kit, 30)
    kit.app.drain([kit.settings.queue])
    done = kit.messages.get(message.id)
    assert (done.status, done.ambiguous_count, done.retry_count) == (M.SENT, 1, 1)
    assert sends_to(sandbox, TO) == 2


def test_every_code_of_the_contract_has_one_rule() -> None:
    contract = {130429, 131056, 131048, 131049, 131026, 131047, 131051, 131008, 131009, 100,
                131021, 131030, 132000, 132001, 132005, 132007, 132012, 132015, 132016, 190,
                0, 10, 200, 250, 299, 368, 131031, 131042, 130497, 133010, 131057, 4, 80007,
                131000, 1, 131016, 2, 130472}
    table = {code: codes.rule_for(code) for code in contract}
    assert set(codes.RULES) | {200, 250, 299} >= contract
    stop = {c for c, r in table.items() if r.action == codes.Action.STOP}
    assert {190, 0, 10, 200, 250, 299, 368, 131031, 131042} <= stop
    assert table[130429].action == codes.Action.THROTTLE
    assert table[131056].action == codes.Action.HOLD
    assert table[131000].action == codes.Action.RETRY
    assert codes.rule_for(None, 502).action == codes.Action.RETRY
    assert codes.rule_for(999_999, 400).action == codes.Action.DISCARD
