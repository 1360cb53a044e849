"""Jobs run by real worker processes in tests. Each run is written to a side ledger (its own
SQLite file) so executions are counted independently of the queue's own records."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import Callable
from typing import TypeVar

from conveyor import Cancel, Conveyor, Discard, RateLimited, Retry, Settings, Snooze

T = TypeVar("T")

app = Conveyor(os.environ.get("CONVEYOR_URL"), settings=Settings(
    heartbeat_interval=0.2, lease_timeout=2.0, rescue_interval=0.3, stage_interval=0.1))


def _ledger() -> sqlite3.Connection:
    conn = sqlite3.connect(os.environ["LEDGER"], timeout=30, isolation_level=None)
    _retry(lambda: conn.execute("PRAGMA journal_mode = WAL"))
    _retry(lambda: conn.execute("CREATE TABLE IF NOT EXISTS runs (token TEXT, pid INTEGER, "
                                "started REAL, ended REAL)"))
    return conn


def _retry(action: Callable[[], T]) -> T:
    """The ledger is test plumbing shared by many processes: a journal-mode switch can report
    "locked" without waiting, so every step is retried for up to 30 s."""
    deadline = time.monotonic() + 30
    while True:
        try:
            return action()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def runs_of(token: str) -> int:
    with _ledger() as conn:
        return int(_retry(lambda: conn.execute(
            "SELECT count(*) FROM runs WHERE token = ?", (token,)).fetchone()[0]))


def _start(token: str, started: float | None = None) -> int:
    """Record a run; `started` should be taken first thing in the job, before the ledger's
    own lock waits."""
    began = time.time() if started is None else started
    with _ledger() as conn:
        cur = _retry(lambda: conn.execute("INSERT INTO runs VALUES (?, ?, ?, NULL)",
                                          (token, os.getpid(), began)))
        return int(cur.lastrowid or 0)


def _end(row: int) -> None:
    """Record the end of a run, stamped before the ledger's own lock waits."""
    ended = time.time()
    with _ledger() as conn:
        _retry(lambda: conn.execute("UPDATE runs SET ended = ? WHERE rowid = ?",
                                    (ended, row)))


@app.job(name="record")
def record(token: str, seconds: float = 0.0) -> str:
    row = _start(token)
    time.sleep(seconds)
    _end(row)
    return token


@app.job(name="slow_once")
async def slow_once(token: str, seconds: float) -> str:
    """Sleeps `seconds` on its first run only (a run a test will kill), then is quick."""
    first = runs_of(token) == 0
    row = _start(token)
    if first:
        await asyncio.sleep(seconds)
    _end(row)
    return token


@app.job(name="sleep_async")
async def sleep_async(token: str, seconds: float) -> str:
    row = _start(token)
    await asyncio.sleep(seconds)
    _end(row)
    return token


@app.job(name="cooperative")
def cooperative(token: str, seconds: float) -> str:
    """A plain def job that checks for a cancel request between steps."""
    from conveyor import current_job

    row = _start(token)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if current_job().cancel_requested.is_set():
            raise RuntimeError("stopping on request")
        time.sleep(0.02)
    _end(row)
    return token


@app.job(name="burn_cpu")
def burn_cpu(token: str, seconds: float) -> int:
    """Pure-Python CPU work in the thread pool: holds the GIL as much as Python allows."""
    row = _start(token)
    deadline, spins = time.monotonic() + seconds, 0
    while time.monotonic() < deadline:
        spins += sum(i * i for i in range(1000)) & 1
    _end(row)
    return spins


@app.job(name="block_loop")
async def block_loop(token: str, seconds: float) -> str:
    """An async job that wrongly blocks the event loop itself for `seconds`."""
    row = _start(token)
    time.sleep(seconds)  # noqa: ASYNC251 - blocking the loop is what this job is for
    _end(row)
    return token


CONTROLS = {"snooze": Snooze(60), "retry": Retry(in_=30, reason="try later"),
            "cancel": Cancel("not wanted"), "discard": Discard("no such sku"),
            "rate_limited": RateLimited(retry_after=45)}


@app.job(name="isolated", isolation="process", timeout=2.0, max_attempts=1)
def isolated(action: str) -> object:
    """Runs in a child process: returns, raises, spins past its timeout or kills itself."""
    if action == "pid":
        return os.getpid()
    if action == "nice":
        return os.nice(0)
    if action == "raise":
        raise KeyError("missing sku")
    if action == "exit":
        os._exit(3)
    while True:  # "spin": pure CPU, never returns
        sum(range(1000))


@app.job(name="isolated_control", isolation="process", max_attempts=3)
def isolated_control(action: str) -> None:
    """Raises a control exception in a child process: it steers the job as in-process."""
    raise CONTROLS[action]


@app.job(name="isolated_misbehaving", isolation="process", timeout=30.0, max_attempts=1)
def isolated_misbehaving(action: str) -> object:
    """Raises or returns what `tests.misbehaviour` has for `action`, in a child process."""
    from tests.misbehaviour import misbehave

    return misbehave(action)


@app.job(name="crashes", isolation="process", max_attempts=10, backoff=[0])
def crashes() -> None:
    """Takes its process down on every attempt."""
    os._exit(3)


@app.job(name="limited_a", rate_limit="10/s", rate_key="A")
def limited_a(token: str) -> str:
    started = time.time()
    _end(_start(token, started))
    return token


@app.job(name="unlimited")
def unlimited(token: str) -> str:
    _end(_start(token))
    return token


@app.job(name="pooled", concurrency=3, concurrency_key=lambda token, seconds: "B")
def pooled(token: str, seconds: float) -> str:
    row = _start(token)
    time.sleep(seconds)
    _end(row)
    return token


@app.job(name="throttle_once", rate_limit="50/s", rate_key="C")
def throttle_once(token: str) -> str:
    """The first run of token "first" hears "too many requests, retry in 2 s"."""
    from conveyor import RateLimited

    first_time = runs_of(token) == 0
    _end(_start(token))
    if token == "first" and first_time:
        raise RateLimited(retry_after=2.0, key="C")
    return token


@app.job(name="batch_item", max_attempts=1)
async def batch_item(n: int) -> int:
    """A batch member: every 50th fails for good."""
    if n % 50 == 0:
        raise ValueError(f"item {n} fails")
    return n


@app.job(name="batch_callback")
def batch_callback(kind: str) -> str:
    """Records each callback run in the ledger as "<kind>:<batch id>"."""
    from conveyor import current_job

    _end(_start(f"{kind}:{current_job().job.meta['batch_id']}"))
    return kind


@app.job(name="sync_category")
def sync_category(token: str, seconds: float) -> str:
    row = _start(token)
    time.sleep(seconds)
    _end(row)
    return token


@app.job(name="kill_worker_once", max_attempts=1)
def kill_worker_once(token: str) -> str:
    """Takes its whole worker process down on its first run (no isolation), then is quick."""
    first = runs_of(token) == 0
    _end(_start(token))
    if first:
        os._exit(3)
    return token


_stubborn: set[asyncio.Task[None]] = set()


@app.job(name="leave_stubborn_task")
async def leave_stubborn_task(token: str) -> str:
    """Leaves behind a task that ignores cancellation, as a connection pool's task can when
    its cancellation is lost: the worker must still exit once it is done."""
    async def stubborn() -> None:
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                continue

    row = _start(token)
    _stubborn.add(asyncio.get_running_loop().create_task(stubborn()))
    _end(row)
    return token
