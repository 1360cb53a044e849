"""The delivery-status webhook: Meta's handshake, signatures (accepted / rejected, nothing
changed), monotonic statuses, retries of failed deliveries, and the sandbox's own signed
callbacks arriving through a real HTTP server."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from conveyor import JobState
from conveyor_commerce import Commerce, DeliveryStatus, MessageStatus
from conveyor_commerce.messages.webhook import signature
from conveyor_commerce.sandbox import SandboxServer
from conveyor_commerce.sandbox.state import SentRecord
from conveyor_commerce.sandbox.webhooks import status_payload
from conveyor_commerce.whatsapp.accounts import Account
from tests.commerce.conftest import NUMBER, advance, drain, sends_to, served

M = MessageStatus
SECRET, VERIFY = "app-secret-for-tests", "verify-me"
TO = "48600100200"


@pytest.fixture
def hook(kit: Commerce) -> Iterator[httpx.Client]:
    with served(kit.webhook_app(app_secret=SECRET, verify_token=VERIFY)) as base, \
            httpx.Client(base_url=base) as client:
        yield client


def _post(hook: httpx.Client, payload: dict[str, Any], secret: str = SECRET,
          header: str | None = "auto") -> httpx.Response:
    body = orjson.dumps(payload)
    headers = {"Content-Type": "application/json"}
    if header == "auto":
        headers["X-Hub-Signature-256"] = signature(secret, body)
    elif header is not None:
        headers["X-Hub-Signature-256"] = header
    return hook.post("/", content=body, headers=headers)


def _status(sandbox: SandboxServer, record: SentRecord, status: str,
            code: int | None = None) -> dict[str, Any]:
    return status_payload(sandbox.state.webhook, sandbox.state.numbers[NUMBER], record, status,
                          code)


def _sent_one(kit: Commerce, sandbox: SandboxServer, **options: Any) -> tuple[int, SentRecord]:
    message = kit.messages.schedule("shop", TO, "hi", offset=0, **options)
    drain(kit)
    return message.id, sandbox.state.sent_log()[-1]


def test_verification_handshake(hook: httpx.Client) -> None:
    ok = hook.get("/", params={"hub.mode": "subscribe", "hub.verify_token": VERIFY,
                               "hub.challenge": "1158201444"})
    assert (ok.status_code, ok.text) == (200, "1158201444")
    for params in ({"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
                   {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY, "hub.challenge": "1"},
                   {}):
        assert hook.get("/", params=params).status_code == 403


def test_bad_or_missing_signature_is_refused_and_changes_nothing(
        kit: Commerce, account: Account, sandbox: SandboxServer, hook: httpx.Client) -> None:
    message_id, record = _sent_one(kit, sandbox)
    payload = _status(sandbox, record, "read")
    body = orjson.dumps(payload)
    forged = signature(SECRET, body + b" ")
    for response in (_post(hook, payload, header=None), _post(hook, payload, secret="other"),
                     _post(hook, payload, header=forged), _post(hook, payload, header="sha256="),
                     _post(hook, payload, header=signature(SECRET, body).upper())):
        assert response.status_code == 401
    assert kit.messages.get(message_id).delivery_status is None
    # the same body, signed over its raw bytes, is accepted
    accepted = hook.post("/", content=body, headers={
        "X-Hub-Signature-256": signature(SECRET, body), "Content-Type": "application/json"})
    assert accepted.status_code == 200 and accepted.json()["applied"] == 1
    assert kit.messages.get(message_id).delivery_status == DeliveryStatus.READ


def test_statuses_never_move_backwards(kit: Commerce, account: Account,
                                       sandbox: SandboxServer, hook: httpx.Client) -> None:
    message_id, record = _sent_one(kit, sandbox)
    for status in ("delivered", "sent", "read", "delivered", "read", "failed", "sent"):
        assert _post(hook, _status(sandbox, record, status, 131000)).status_code == 200
    after = kit.messages.get(message_id)
    assert (after.status, after.delivery_status) == (M.SENT, DeliveryStatus.READ)
    assert after.read_at is not None and after.delivered_at is not None


def test_failed_with_a_retryable_code_schedules_a_retry(
        kit: Commerce, account: Account, sandbox: SandboxServer, hook: httpx.Client) -> None:
    message_id, record = _sent_one(kit, sandbox)
    _post(hook, _status(sandbox, record, "sent"))
    response = _post(hook, _status(sandbox, record, "failed", 131000))
    assert response.json() == {"applied": 1, "ignored": 0, "retried": 1}
    retried = kit.messages.get(message_id)
    assert (retried.status, retried.retry_count, retried.error_code) == (M.PENDING, 1, 131000)
    assert retried.meta_message_id is None
    job = kit.app.get(retried.job_id or 0)
    assert job.state == JobState.SCHEDULED and job.max_attempts == 3  # 2 retries left
    assert (job.run_at - kit.now()).total_seconds() == pytest.approx(60)
    again = _post(hook, _status(sandbox, record, "failed", 131000))  # a repeat: no new retry
    assert again.json()["ignored"] == 1
    advance(kit, 60)
    drain(kit)
    assert kit.messages.get(message_id).status == M.SENT and sends_to(sandbox, TO) == 2


def test_failed_with_a_final_code_fails_the_message(
        kit: Commerce, account: Account, sandbox: SandboxServer, hook: httpx.Client) -> None:
    message_id, record = _sent_one(kit, sandbox)
    _post(hook, _status(sandbox, record, "failed", 131049))
    after = kit.messages.get(message_id)
    assert (after.status, after.error_code, after.delivery_status) == (M.FAILED, 131049,
                                                                       DeliveryStatus.FAILED)
    retries_used_up, record2 = _sent_one(kit, sandbox, max_retries=0)
    _post(hook, _status(sandbox, record2, "failed", 131000))
    assert kit.messages.get(retries_used_up).status == M.FAILED


def test_an_ambiguous_send_is_confirmed_by_its_callback(
        kit: Commerce, account: Account, sandbox: SandboxServer, hook: httpx.Client) -> None:
    """The answer was lost, but `biz_opaque_callback_data` names the message and its job: the
    callback adopts the wamid, and the job, when it runs again, sends nothing."""
    sandbox.state.inject("timeout_after_accept", delay=2.0, recipient=TO)
    message = kit.messages.schedule("shop", TO, "hi", offset=0)
    kit.app.drain([kit.settings.queue])
    assert kit.messages.get(message.id).status == M.PROCESSING
    record = sandbox.state.sent_log()[-1]
    assert _post(hook, _status(sandbox, record, "sent")).json()["applied"] == 1
    confirmed = kit.messages.get(message.id)
    assert (confirmed.status, confirmed.meta_message_id) == (M.SENT, record.wamid)
    advance(kit, 30)
    kit.app.drain([kit.settings.queue])
    job = kit.app.get(confirmed.job_id or 0)
    assert job.state == JobState.COMPLETED and job.result["confirmed_by"] == "webhook"
    assert sends_to(sandbox, TO) == 1


def test_the_sandbox_sends_signed_callbacks_in_order(kit: Commerce, account: Account,
                                                     sandbox: SandboxServer) -> None:
    """End to end over HTTP: the sandbox posts sent -> delivered -> read, signed, to the
    webhook served by uvicorn; a failed delivery arrives as failed with its code."""
    with served(kit.webhook_app(app_secret=SECRET, verify_token=VERIFY)) as base:
        sandbox.state.configure_webhook(base + "/", SECRET, delay=0.02)
        sandbox.state.set_recipients(undeliverable=["48600100201"])
        sandbox.state.inject("fail_webhook", code=131000, recipient="48600100202", times=9)
        read = kit.messages.schedule("shop", TO, "hi", offset=0)
        lost = kit.messages.schedule("shop", "48600100201", "hi", offset=0)
        flaky = kit.messages.schedule("shop", "48600100202", "hi", offset=0, max_retries=0)
        drain(kit)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (
                kit.messages.get(read.id).delivery_status != "read"
                or kit.messages.get(lost.id).status != M.FAILED
                or kit.messages.get(flaky.id).status != M.FAILED):
            time.sleep(0.05)
    assert kit.messages.get(read.id).delivery_status == DeliveryStatus.READ
    undeliverable = kit.messages.get(lost.id)
    assert (undeliverable.status, undeliverable.error_code) == (M.FAILED, 131026)
    assert kit.messages.get(flaky.id).error_code == 131000
