"""The per-attempt cancel flag behaves as the `threading.Event` it is documented as."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from conveyor import JobContext, model
from conveyor.context import CancelRequest


def test_a_thread_waiting_on_the_flag_wakes_when_it_is_set() -> None:
    flag = CancelRequest()
    assert isinstance(flag, threading.Event) and not flag.is_set()
    assert repr(flag) == "<CancelRequest: unset>"
    assert flag.wait(0.01) is False
    threading.Timer(0.05, flag.set).start()
    began = time.monotonic()
    assert flag.wait(5) is True
    assert time.monotonic() - began < 4 and flag.is_set() and flag.wait(0)
    assert repr(flag) == "<CancelRequest: set>"
    flag.clear()
    assert not flag.is_set() and flag.wait(0.01) is False


def test_every_job_context_gets_its_own_flag() -> None:
    now = datetime.now(UTC)
    job = model.Job(id=1, name="send", queue="mail", state=model.JobState.RUNNING, priority=0,
                    args=(), kwargs={}, attempt=1, max_attempts=3, run_at=now, inserted_at=now)
    first, second = JobContext(job), JobContext(job)
    first.cancel_requested.set()
    assert isinstance(first.cancel_requested, CancelRequest)
    assert first.cancel_requested.is_set() and not second.cancel_requested.is_set()
