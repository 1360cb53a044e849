"""`conveyor worker` as a user starts it: supervised processes in burst mode, recycling,
children that cannot start, and a worker that was given no jobs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conveyor import Conveyor, JobState
from tests.worker import harness

pytestmark = pytest.mark.slow


def _enqueue(app: Conveyor, count: int, queue: str | None = None) -> list[int]:
    from tests.worker import jobs_app

    opts = jobs_app.record.defaults if queue is None else \
        jobs_app.record.options(queue=queue).opts
    rows = [jobs_app.record.new_job([f"t{i}"], {}, opts) for i in range(count)]
    return [job.id for job in app.blocking.run(lambda: app.insert(rows))]


def _finish(proc: subprocess.Popen[bytes], timeout: float) -> int:
    try:
        return proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_burst_with_several_processes_exits_once_every_one_drained(
        url: str, ledger: Path, proc_app: Conveyor) -> None:
    ids = _enqueue(proc_app, 30)
    supervisor = harness.start_worker(url, ledger, "--processes", "2", "--burst")
    assert _finish(supervisor, 60) == 0
    assert {proc_app.get(i).state for i in ids} == {JobState.COMPLETED}
    assert len(harness.ledger_rows(ledger)) == 30
    proc_app.close()


def test_a_worker_exits_although_a_task_left_on_its_loop_ignores_cancellation(
        url: str, ledger: Path, proc_app: Conveyor) -> None:
    """A stopped worker used to wait without bound for every task left on its loop (the
    teardown of `asyncio.run`); one that swallowed its cancellation kept the process alive."""
    from tests.worker import jobs_app

    job = proc_app.blocking.run(lambda: proc_app.insert([jobs_app.leave_stubborn_task.new_job(
        ["stubborn"], {}, jobs_app.leave_stubborn_task.defaults)]))[0]
    worker = harness.start_worker(url, ledger, "--burst")
    assert _finish(worker, 60) == 0
    assert proc_app.get(job.id).state == JobState.COMPLETED
    proc_app.close()


def test_burst_children_that_reach_max_jobs_are_done_not_replaced(
        url: str, ledger: Path, proc_app: Conveyor) -> None:
    _enqueue(proc_app, 6)
    supervisor = harness.start_worker(url, ledger, "--processes", "2", "--burst",
                                      "--max-jobs", "1", "--concurrency", "1")
    assert _finish(supervisor, 60) == 0
    assert len(harness.ledger_rows(ledger)) == 2  # one job each, then done
    proc_app.close()


def test_without_burst_children_at_max_jobs_are_replaced(url: str, ledger: Path,
                                                         proc_app: Conveyor) -> None:
    ids = _enqueue(proc_app, 6)
    supervisor = harness.start_worker(url, ledger, "--processes", "2", "--max-jobs", "1",
                                      "--concurrency", "1")
    try:
        harness.wait_for(lambda: all(proc_app.get(i).state == JobState.COMPLETED
                                     for i in ids), 60, "recycled children to run every job")
        supervisor.send_signal(signal.SIGTERM)
        assert _finish(supervisor, 30) == 0
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
    assert len({row[1] for row in harness.ledger_rows(ledger)}) == 6  # a process per job
    proc_app.close()


def test_burst_exits_1_when_a_child_failed_and_the_others_drained(
        url: str, ledger: Path, proc_app: Conveyor, tmp_path: Path) -> None:
    """One child dies while the others drain: it is replaced, the replacement drains too,
    and the supervisor still ends (its exit code says a child failed). One job at a time:
    the dying child holds no other job, which would stay running until a rescue."""
    from tests.worker import jobs_app

    ids = _enqueue(proc_app, 10)
    proc_app.blocking.run(lambda: proc_app.insert(
        [jobs_app.kill_worker_once.new_job(["boom"], {}, jobs_app.kill_worker_once.defaults)]))
    log = tmp_path / "supervisor.log"
    supervisor = harness.start_worker(url, ledger, "--processes", "2", "--burst",
                                      "--concurrency", "1", log=log)
    assert _finish(supervisor, 60) == 1
    assert {proc_app.get(i).state for i in ids} == {JobState.COMPLETED}
    assert "exited with 3" in log.read_text()
    assert "boom" in harness.started_tokens(ledger)
    proc_app.close()


def test_children_that_keep_failing_at_start_make_the_supervisor_give_up(
        tmp_path: Path, ledger: Path) -> None:
    """Tables missing under --no-migrate: each child fails at once. The supervisor backs
    off between attempts, then gives up with a clear error and a failing exit code."""
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    log = tmp_path / "supervisor.log"
    started = time.monotonic()
    supervisor = harness.start_worker(url, ledger, "--processes", "2", "--no-migrate",
                                      log=log)
    assert _finish(supervisor, 90) == 1
    took = time.monotonic() - started
    text = log.read_text()
    assert "keep failing at start (5 times in a row" in text and "giving up" in text
    assert text.count("replacing it in") >= 4  # backed off before giving up
    assert took >= 0.5 + 1 + 2 + 4  # the pauses between tries of one process


def test_a_worker_without_jobs_refuses_to_start(url: str, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(harness.ROOT)}
    env.pop("CONVEYOR_APP", None)
    for extra in ([], ["--processes", "2"]):
        done = subprocess.run([sys.executable, "-m", "conveyor", "--url", url, "worker",
                               "--burst", *extra], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 1, done.stderr
        assert "no job is registered" in done.stderr and "--app MODULE:APP" in done.stderr


def test_a_default_worker_serves_jobs_sent_to_undeclared_queues(url: str, ledger: Path,
                                                                proc_app: Conveyor) -> None:
    ids = _enqueue(proc_app, 3, queue="elsewhere")
    worker = harness.start_worker(url, ledger, "--burst")
    assert _finish(worker, 60) == 0
    assert {proc_app.get(i).state for i in ids} == {JobState.COMPLETED}
    proc_app.close()
