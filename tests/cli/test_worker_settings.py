"""`conveyor worker` tuned from the shell: flags over `CONVEYOR_*` variables over the app's
code, as a real worker process reports them when it starts; bad values stop it with one
clear line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.worker import harness

pytestmark = pytest.mark.slow


def _worker(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "CONVEYOR_URL": f"sqlite:///{tmp_path / 'jobs.db'}",
            "LEDGER": str(tmp_path / "ledger.db"), "PYTHONPATH": str(harness.ROOT), **env}
    return subprocess.run([sys.executable, "-m", "conveyor", "--app", harness.APP, "worker",
                           "--burst", *args], cwd=harness.ROOT, env=full, capture_output=True,
                          text=True, timeout=60)


def test_flags_win_over_the_environment_which_wins_over_the_code(tmp_path: Path) -> None:
    # The app's code says heartbeat 0.2 s, lease 2 s, rescue 0.3 s (tests.worker.jobs_app).
    done = _worker(tmp_path, "--heartbeat-interval", "0.5",
                   CONVEYOR_HEARTBEAT_INTERVAL="1", CONVEYOR_LEASE_TIMEOUT="9",
                   CONVEYOR_GRACE="4")
    assert done.returncode == 0, done.stderr
    assert "heartbeat=0.5s lease=9s rescue=0.3s grace=4s" in done.stderr
    done = _worker(tmp_path, "--grace", "6", "--rescue-interval", "1.5", CONVEYOR_GRACE="4")
    assert done.returncode == 0, done.stderr
    assert "heartbeat=0.2s lease=2s rescue=1.5s grace=6s" in done.stderr


def test_a_bad_flag_is_a_usage_error_and_a_bad_variable_an_error_line(tmp_path: Path) -> None:
    done = _worker(tmp_path, "--lease-timeout", "soon")
    assert done.returncode == 2
    assert "Error: --lease-timeout='soon': expected a number of seconds > 0" in done.stderr
    assert "Traceback" not in done.stderr
    done = _worker(tmp_path, "--retention", "completed=1,finished=2")
    assert done.returncode == 2 and "STATE one of completed, cancelled, discarded" in \
        done.stderr
    done = _worker(tmp_path, "--heartbeat-interval", "3")  # the code's lease is 2 s
    assert done.returncode == 2
    assert "--heartbeat-interval: the heartbeat interval (3 s) must be at most half the " \
        "lease timeout (2 s)" in done.stderr
    for extra in ([], ["--processes", "2"]):
        done = _worker(tmp_path, *extra, CONVEYOR_MAX_ERRORS="many")
        assert done.returncode == 1, done.stderr
        assert "Error: CONVEYOR_MAX_ERRORS='many': expected a whole number >= 1" in \
            done.stderr
        assert "Traceback" not in done.stderr
