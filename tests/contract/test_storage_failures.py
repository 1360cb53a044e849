"""A dead or busy database: clear errors, nothing half-written, and no "database is locked"."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from conveyor import Conveyor, StorageUnavailable
from conveyor.backends.sqlite.backend import SqliteBackend
from conveyor.registry import JobType


def _declare(app: Conveyor) -> JobType[[int], None]:
    @app.job(name="ping")
    def ping(n: int) -> None: ...

    return ping


@pytest.mark.postgres
def test_unreachable_postgres_raises_storage_unavailable() -> None:
    app = Conveyor("postgresql://postgres:s3cret-token@127.0.0.1:1/nowhere")
    ping = _declare(app)
    started = time.monotonic()
    with pytest.raises(StorageUnavailable) as caught:
        ping.enqueue(1)
    assert time.monotonic() - started < 30
    assert "s3cret-token" not in str(caught.value)
    app.close()


def test_sqlite_path_that_cannot_be_opened(tmp_path: Path) -> None:
    (tmp_path / "dir.db").mkdir()
    app = Conveyor(f"sqlite:///{tmp_path / 'dir.db'}")
    with pytest.raises(StorageUnavailable, match=r"dir\.db"):
        _declare(app).enqueue(1)
    app.close()


def _hold_exclusive_lock(path: Path, seconds: float, locked: threading.Event) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN EXCLUSIVE")
    locked.set()
    time.sleep(seconds)
    conn.execute("COMMIT")
    conn.close()


def test_sqlite_waits_out_a_lock_instead_of_failing(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    app = Conveyor(f"sqlite:///{path}")
    ping = _declare(app)
    app.migrate()
    locked = threading.Event()
    holder = threading.Thread(target=_hold_exclusive_lock, args=(path, 1.0, locked))
    holder.start()
    locked.wait(5)
    started = time.monotonic()
    job = ping.enqueue(1)
    waited = time.monotonic() - started
    holder.join()
    assert waited >= 0.5
    assert app.get(job.id).args == [1]
    app.close()


async def test_sqlite_lock_past_the_deadline_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    backend = SqliteBackend(f"sqlite:///{path}", busy_deadline=0.3)
    await backend.migrate()
    locked = threading.Event()
    holder = threading.Thread(target=_hold_exclusive_lock, args=(path, 1.5, locked))
    holder.start()
    locked.wait(5)
    with pytest.raises(StorageUnavailable, match=r"stayed locked for more than 0\.3s") as caught:
        await backend.heartbeat("w", [], datetime.now(UTC))
    assert "database is locked" not in str(caught.value)
    holder.join()
    await backend.close()


def test_sqlite_blocking_enqueue_past_the_deadline_writes_nothing(tmp_path: Path) -> None:
    """The blocking path (no event loop crossed) retries a busy database with blocking
    sleeps, and past the deadline fails as the async one does."""
    path = tmp_path / "jobs.db"
    app = Conveyor(f"sqlite:///{path}?busy_timeout=0.3")
    ping = _declare(app)
    first = ping.enqueue(0)  # opens the database on this thread: later calls go direct
    locked = threading.Event()
    holder = threading.Thread(target=_hold_exclusive_lock, args=(path, 1.5, locked))
    holder.start()
    locked.wait(5)
    started = time.monotonic()
    with pytest.raises(StorageUnavailable, match=r"stayed locked for more than 0\.3s") as caught:
        ping.enqueue(1)
    assert time.monotonic() - started >= 0.3
    assert "database is locked" not in str(caught.value)
    holder.join()
    assert [job.id for job in app.jobs()] == [first.id]
    app.close()

