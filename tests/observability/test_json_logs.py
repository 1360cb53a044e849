"""`conveyor worker --log-format json`: a real worker's stderr, parsed line by line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conveyor import Conveyor
from tests.observability.jobs_app import declare

ROOT = Path(__file__).resolve().parents[2]
SECRET = "hunter2-sentinel"


def run_worker(url: str, *args: str, env: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Run `conveyor worker --burst` and return its stderr lines, each parsed as JSON (a line
    that is not JSON fails the test)."""
    done = subprocess.run(
        [sys.executable, "-m", "conveyor", "--app", "tests.observability.jobs_app:app",
         "worker", "--burst", *args], cwd=ROOT, capture_output=True, timeout=60, check=True,
        env={**os.environ, "CONVEYOR_URL": url, "PYTHONPATH": str(ROOT), **(env or {})})
    text = done.stderr.decode()
    assert SECRET not in text
    return [json.loads(line) for line in text.splitlines()]


@pytest.mark.slow
def test_one_json_line_per_job_event(url: str) -> None:
    app = Conveyor(url)
    declare(app)
    greeted = app.registry.get("greet").enqueue("ada")
    failed = app.registry.get("boom").enqueue(password=SECRET)
    flaky = app.registry.get("flaky").enqueue()
    app.close()

    lines = run_worker(url, "--log-format", "json")
    assert {line["logger"] for line in lines} >= {"conveyor.worker", "conveyor.jobs"}
    events = [line for line in lines if "event" in line]
    by_job = {job.id: [e["event"] for e in events if e["job_id"] == job.id]
              for job in (greeted, failed, flaky)}
    assert by_job == {greeted.id: ["started", "completed"], failed.id: ["started", "discarded"],
                      flaky.id: ["started", "retried", "started", "completed"]}

    started, completed = (e for e in events if e["job_id"] == greeted.id)
    assert started["args"] == ["ada"] and started["kwargs"] == {}
    assert {k: completed[k] for k in ("name", "queue", "attempt", "outcome", "level")} == {
        "name": "greet", "queue": "mail", "attempt": 1, "outcome": "completed", "level": "info"}
    assert 0 <= completed["duration_s"] < 10 and completed["worker"]
    assert completed["message"] == f"job {greeted.id} greet completed"

    boom_started, discarded = (e for e in events if e["job_id"] == failed.id)
    assert boom_started["kwargs"] == {"password": "***"}
    assert discarded["level"] == "error" and discarded["attempt"] == 1
    assert discarded["error"] == {"type": "ValueError",
                                  "message": "the printer is on fire (password=***)"}
    retried = next(e for e in events if e["job_id"] == flaky.id and e["event"] == "retried")
    assert retried["level"] == "warning" and retried["error"]["type"] == "Retry"


@pytest.mark.slow
def test_the_format_can_come_from_the_environment(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    app = Conveyor(url)
    declare(app)
    job = app.registry.get("greet").enqueue("grace")
    app.close()
    lines = run_worker(url, env={"CONVEYOR_LOG_FORMAT": "json"})
    assert [line["event"] for line in lines if line.get("job_id") == job.id] == [
        "started", "completed"]
