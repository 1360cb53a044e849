"""Start real `conveyor worker` processes and read the side ledger."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP = "tests.worker.jobs_app:app"


def start_worker(url: str, ledger: Path, *args: str, log: Path | None = None,
                 app: str = APP) -> subprocess.Popen[bytes]:
    """A `conveyor worker` process; with `log`, its stderr is appended to that file."""
    env = {**os.environ, "CONVEYOR_URL": url, "LEDGER": str(ledger),
           "PYTHONPATH": str(ROOT)}
    stderr = None if log is None else log.open("ab")
    try:
        return subprocess.Popen([sys.executable, "-m", "conveyor", "--app", app, "worker",
                                 *args], cwd=ROOT, env=env, stderr=stderr)
    finally:
        if stderr is not None:
            stderr.close()


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def ledger_rows(ledger: Path) -> list[tuple[str, int, float, float | None]]:
    if not ledger.exists():
        return []
    with sqlite3.connect(ledger, timeout=30) as conn:
        try:
            return list(conn.execute("SELECT token, pid, started, ended FROM runs"))
        except sqlite3.OperationalError:  # table not created yet
            return []


def started_tokens(ledger: Path) -> set[str]:
    return {row[0] for row in ledger_rows(ledger)}
