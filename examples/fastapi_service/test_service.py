"""The example service: enqueue from handlers, the in-process worker, the dashboard behind the
service's login, and SIGTERM under uvicorn handing an unfinished job back."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient

from conveyor import Conveyor, JobState
from conveyor.testing import Harness
from examples.fastapi_service import jobs
from examples.fastapi_service.service import create_service

ROOT = Path(__file__).resolve().parents[2]


def test_signup_enqueues_and_a_day_later_both_mails_went_out(conveyor_harness: Harness) -> None:
    with TestClient(create_service()) as client:
        response = client.post("/signup", json={"email": "ann@example.com"})
    assert response.status_code == 200
    conveyor_harness.assert_enqueued(jobs.send_welcome, args=["ann@example.com"], within=0)
    conveyor_harness.assert_enqueued(jobs.follow_up, kwargs={"email": "ann@example.com"},
                                     within=timedelta(days=1))
    conveyor_harness.assert_not_enqueued(jobs.follow_up, within=timedelta(hours=23))
    assert conveyor_harness.drain(until=timedelta(days=1)) == 2
    assert [job.result for job in conveyor_harness.jobs([JobState.COMPLETED])] == [
        "welcome mail sent to ann@example.com", "day-1 follow-up sent to ann@example.com"]


def test_the_in_process_worker_runs_what_handlers_enqueue(conveyor_app: Conveyor) -> None:
    with TestClient(create_service(run_jobs=True)) as client:
        job_id = client.post("/signup", json={"email": "bob@example.com"}).json()["job_id"]
        deadline = time.monotonic() + 20
        while (shown := client.get(f"/jobs/{job_id}").json())["state"] != "completed":
            assert time.monotonic() < deadline, shown
            time.sleep(0.05)
        assert client.get("/jobs/999").status_code == 404
    assert shown["result"] == "welcome mail sent to bob@example.com"


def test_the_dashboard_sits_behind_the_services_login(
        conveyor_app: Conveyor, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERVICE_ADMIN_PASSWORD", "s3cret-pass")
    with TestClient(create_service()) as client:
        assert client.get("/admin/jobs/").status_code == 401
        assert client.post("/login", data={"user": "eve", "password": "guess"}
                           ).status_code == 401
        assert client.post("/login", data={"user": "ann", "password": "s3cret-pass"}
                           ).status_code == 200
        client.post("/signup", json={"email": "cy@example.com"})
        page = client.get("/admin/jobs/jobs")
        assert page.status_code == 200
        assert "send_welcome" in page.text
        assert "ann" in page.text  # the service's user, shown as the dashboard's
        assert 'href="/admin/jobs/' in page.text  # links follow the prefix


@pytest.mark.slow
def test_sigterm_under_uvicorn_finishes_short_jobs_and_hands_long_ones_back(
        conveyor_url: str, tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "CONVEYOR_URL": conveyor_url, "SERVICE_RUNS_JOBS": "1",
           "SERVICE_GRACE": "1.5", "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "examples.fastapi_service.service:service",
         "--port", str(port), "--log-level", "warning"], cwd=tmp_path, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, server)
        short = httpx.post(f"{base}/reports", params={"seconds": 0.5}).json()["job_id"]
        long = httpx.post(f"{base}/reports", params={"seconds": 60}).json()["job_id"]
        _wait_for(base, long, "running")
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) in (0, -signal.SIGTERM)
    finally:
        if server.poll() is None:
            server.kill()
    app = Conveyor(conveyor_url)
    try:
        assert app.get(short).state is JobState.COMPLETED
        handed_back = app.get(long)
        assert (handed_back.state, handed_back.attempt) == (JobState.AVAILABLE, 0)
        assert handed_back.errors[-1].message == "interrupted by shutdown"
    finally:
        app.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_until_up(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert server.poll() is None, "the service exited at start"
        try:
            httpx.get(f"{base}/jobs/1", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("the service did not start within 30 s")


def _wait_for(base: str, job_id: int, state: str) -> None:
    deadline = time.monotonic() + 30
    while httpx.get(f"{base}/jobs/{job_id}").json()["state"] != state:
        assert time.monotonic() < deadline, f"job {job_id} never became {state}"
        time.sleep(0.05)
