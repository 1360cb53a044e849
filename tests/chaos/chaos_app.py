"""Jobs run by real worker processes in the chaos tests.

Every run is written to a side ledger - its own SQLite file, named by `$LEDGER` - as
(job id, token, attempt, pid, start, end, outcome), so real executions are counted
independently of the queue's own records. A run whose process died has no end and no outcome.
Jobs run in a child process (`isolation="process"`) cannot see `current_job()`: they record
their token only, and the test maps tokens to job ids.

Timings are short so that scenarios finish quickly: heartbeat 0.5 s, lease timeout 3 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import sqlite3
import time

from conveyor import Conveyor, Settings, current_job

SETTINGS = Settings(heartbeat_interval=0.5, lease_timeout=3.0, rescue_interval=0.5,
                    stage_interval=0.1)
app = Conveyor(os.environ.get("CONVEYOR_URL"), settings=SETTINGS)

SCHEMA = ("CREATE TABLE IF NOT EXISTS runs (job_id INTEGER, token TEXT, attempt INTEGER, "
          "pid INTEGER, started REAL, ended REAL, outcome TEXT)")


def _ledger() -> sqlite3.Connection:
    conn = sqlite3.connect(os.environ["LEDGER"], timeout=60, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(SCHEMA)
    return conn


def _begin(token: str) -> int:
    started = time.time()  # before any wait for the ledger's own lock
    try:
        job = current_job().job
        job_id, attempt = job.id, job.attempt
    except LookupError:  # in a child process
        job_id, attempt = None, None
    with contextlib.closing(_ledger()) as conn:
        cur = conn.execute("INSERT INTO runs VALUES (?, ?, ?, ?, ?, NULL, NULL)",
                           (job_id, token, attempt, os.getpid(), started))
        return int(cur.lastrowid or 0)


def _end(row: int, outcome: str) -> None:
    with contextlib.closing(_ledger()) as conn:
        conn.execute("UPDATE runs SET ended = ?, outcome = ? WHERE rowid = ?",
                     (time.time(), outcome, row))


@app.job(name="work")
def work(token: str, seconds: float = 0.0) -> str:
    """Plain work in the thread pool."""
    row = _begin(token)
    time.sleep(seconds)
    _end(row, "ok")
    return token


@app.job(name="nap", max_attempts=5)
async def nap(token: str, seconds: float) -> str:
    """Async work; a long nap is cancelled (and recorded as such) at shutdown."""
    row = _begin(token)
    try:
        await asyncio.sleep(seconds)
    except asyncio.CancelledError:
        _end(row, "interrupted")
        raise
    _end(row, "ok")
    return token


@app.job(name="always_fails", max_attempts=4, backoff=[0.5, 1.0, 1.5])
def always_fails(token: str) -> None:
    row = _begin(token)
    _end(row, "error")
    raise ValueError(f"{token} always fails")


@app.job(name="crash", isolation="process", timeout=30.0, max_attempts=10, backoff=[0.2])
def crash(token: str, how: str) -> None:
    """Takes its own process down: a segfault, os._exit, or the kernel's OOM killer."""
    _begin(token)
    if how == "segfault":
        ctypes.string_at(0)
    elif how == "exit":
        os._exit(3)
    elif how == "oom":  # what the OOM killer does to a process that grew too large
        os.kill(os.getpid(), signal.SIGKILL)


@app.job(name="spin", isolation="process", timeout=1.0, max_attempts=2, backoff=[0.2])
def spin(token: str) -> None:
    """Pure CPU forever, past its timeout."""
    _begin(token)
    while True:
        sum(range(1000))


@app.job(name="huge_result", max_attempts=3)
def huge_result(token: str) -> str:
    row = _begin(token)
    _end(row, "ok")
    return "x" * (50 * 1024 * 1024)


@app.job(name="huge_error", max_attempts=1)
def huge_error(token: str) -> None:
    row = _begin(token)
    _end(row, "error")
    raise RuntimeError("y" * (10 * 1024 * 1024))


@app.job(name="login", max_attempts=1)
def login(token: str, api_token: str) -> None:
    """Takes a secret as a keyword argument, as a careless caller would, and fails."""
    row = _begin(token)
    _end(row, "error")
    raise PermissionError(f"login {token} refused")
