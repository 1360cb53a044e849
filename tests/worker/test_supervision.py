"""`conveyor worker` as a user starts it: which jobs it serves, and a worker that was given
no jobs."""

from __future__ import annotations

import os
import subprocess
import sys
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
