"""Edits, cancels, deletes and retries racing with running worker processes: at the end every
message and its job agree, nothing was sent that was cancelled or deleted first, every sent
message was sent once and with its final content, and every job a message left behind ended
without sending."""

from __future__ import annotations

import random
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from conveyor import JobFilter, JobState
from conveyor_commerce import (
    Commerce,
    InvalidTransition,
    MessageFilter,
    MessageNotFound,
    MessageStatus,
)
from conveyor_commerce.jobs import SEND
from conveyor_commerce.sandbox import SandboxServer
from conveyor_commerce.whatsapp.payloads import Text
from tests.chaos import harness
from tests.commerce import commerce_app
from tests.commerce.conftest import NUMBER, TOKEN
from tests.commerce.test_processes import message_id_of, side  # noqa: F401  (fixture)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
M = MessageStatus
MESSAGES = 150
AGREE = {M.SENT: {JobState.COMPLETED}, M.CANCELLED: {JobState.CANCELLED},
         M.FAILED: {JobState.CANCELLED, JobState.DISCARDED}}


def test_operator_actions_racing_with_workers_keep_message_and_job_in_step(
        url: str, side: Commerce, sandbox: SandboxServer, tmp_path: Path) -> None:  # noqa: F811
    sandbox.state.add_number("206540352242922", TOKEN)
    side.accounts.add("a", NUMBER, TOKEN, base_url=sandbox.url, send_rate=40)
    side.accounts.add("b", "206540352242922", TOKEN, base_url=sandbox.url, send_rate=40)
    rng = random.Random(5)
    ids = []
    for i in range(MESSAGES):
        flaky = i % 10 == 0  # fails at once (no retries): material for retry races
        at = datetime.now(UTC) + timedelta(seconds=rng.uniform(0.5, 1.0 if flaky else 4.0))
        if flaky:
            sandbox.state.inject("error", code=131000, recipient=f"48601{i:06d}")
        ids.append(side.messages.schedule("ab"[i % 2], f"48601{i:06d}", f"v0 of {i}", at=at,
                                          max_retries=0 if flaky else 3).id)
    supervisor = harness.Supervisor(url, tmp_path / "ledger.db", tmp_path / "workers.log", 2,
                                    "--queues", "whatsapp", "--concurrency", "8",
                                    app=commerce_app.APP)
    gone: dict[int, float] = {}
    """Message id -> when it was cancelled or deleted (wall clock)."""
    done: defaultdict[str, int] = defaultdict(int)
    try:
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline and len(ids) > MESSAGES // 3:
            message_id, action = rng.choice(ids), rng.choice(
                ["edit", "edit", "cancel", "retry", "retry", "delete"])
            try:
                if action == "edit":
                    side.messages.edit(message_id, content=Text(f"v{rng.randrange(1, 99)}"),
                                       offset=rng.uniform(0.0, 1.5))
                elif action == "cancel":
                    side.messages.cancel(message_id)
                    gone[message_id] = time.time()
                elif action == "retry":  # mostly a failed one, racing its new job's worker
                    failed = side.messages.list(MessageFilter(statuses=[M.FAILED]), limit=5)
                    side.messages.retry(rng.choice(failed).id if failed else message_id)
                else:
                    side.messages.delete(message_id)
                    gone[message_id] = time.time()
                    ids.remove(message_id)
                done[action] += 1
            except (InvalidTransition, MessageNotFound):
                done["refused"] += 1
        try:
            # (the sweep settles a message whose job a rescue ended while the machine stalled)
            harness.wait_for(lambda: bool(side.messages.reconcile()) and side.messages.count(
                MessageFilter(statuses=[M.PENDING, M.PROCESSING])) == 0, 180,
                "every message settled")
        except AssertionError:
            stuck = side.messages.list(MessageFilter(statuses=[M.PENDING, M.PROCESSING]))
            raise AssertionError([(m.id, m.status, m.scheduled_at, m.job_id,
                                   side.app.get(m.job_id or 0)) for m in stuck[:3]]) from None
    finally:
        assert supervisor.stop() == [0, 0]

    messages = {m.id: m for m in side.messages.list(limit=MESSAGES + 10)}
    jobs = {job.id: job for job in side.app.jobs(JobFilter(names=[SEND], limit=10 * MESSAGES))}
    received: defaultdict[int, list[tuple[float, str]]] = defaultdict(list)
    for record in sandbox.state.sent_log():
        received[message_id_of(record)].append((record.at, record.body["text"]["body"]))
    for message_id, message in messages.items():
        job = jobs[message.job_id or 0]
        assert job.state in AGREE[message.status], (message, job)
        sends = received.get(message_id, [])
        if message.status == M.SENT:
            assert [body for _, body in sends] == [message.content.body], (message, sends)
        elif "may have been sent" in (message.error_title or ""):  # settled by the sweep
            assert len(sends) <= 1, (message, sends)
        else:
            assert sends == [], (message, sends)
    for message_id, at in gone.items():
        assert all(when < at for when, _ in received.get(message_id, [])), message_id
    current = {m.job_id for m in messages.values()}
    left_behind = [job for job in jobs.values()
                   if job.kwargs["message_id"] in messages and job.id not in current]
    # cancelled (an edit or retry moved the message on), or the failed try a retry replaced
    assert {job.state for job in left_behind} <= {JobState.CANCELLED, JobState.DISCARDED}
    assert not [job for job in jobs.values() if not job.is_final]
    by_status = defaultdict(int)
    for message in messages.values():
        by_status[message.status.value] += 1
    print(f"\n[{url.split(':')[0]}] actions {dict(done)}; messages {dict(by_status)}; "
          f"{len(messages)} kept, {len(left_behind)} superseded jobs ended without sending")
