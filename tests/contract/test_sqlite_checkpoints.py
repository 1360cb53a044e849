"""SQLite's checkpoints in the background (`backends.sqlite.checkpoints`): the WAL is copied
into the database file by a thread, not inside a commit, and that keeps the file whole while
several processes write to it."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

from conveyor.backends.sqlite import checkpoints
from conveyor.backends.sqlite.backend import SqliteBackend
from tests.contract.seam import NOW, new

GUARD = 30.0
"""Seconds a test waits for the thread before failing."""
PAYLOAD = ["x" * 20_000]
"""Arguments big enough that a few hundred jobs fill more WAL than `checkpoints.BYTES`."""


def _threads(path: Path) -> list[threading.Thread]:
    return [thread for thread in threading.enumerate()
            if thread.name == f"conveyor-checkpoint {path}" and thread.is_alive()]


async def _eventually(condition: object, what: str) -> None:
    deadline = time.monotonic() + GUARD
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"not within {GUARD:g} s: {what}"
        await asyncio.sleep(0.02)


def _complete(conn: sqlite3.Connection) -> bool:
    """Run a checkpoint on `conn`: whether it found the whole WAL copied (or copied it)."""
    busy, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return bool(busy == 0 and frames > 0 and frames == copied)


async def test_the_wal_is_copied_into_the_file_without_another_commit(tmp_path: Path) -> None:
    """Fewer pages than SQLite's backstop: without the thread they would stay in the WAL
    until a commit checkpoints; with it the database file grows on its own."""
    path = tmp_path / "jobs.db"
    backend = SqliteBackend(f"sqlite:///{path}")
    try:
        await backend.migrate()
        before = path.stat().st_size
        await backend.insert([new(args=PAYLOAD) for _ in range(300)], NOW)
        written = checkpoints.wal_state(str(path))[0]
        assert checkpoints.BYTES <= written < checkpoints.BACKSTOP * 4096
        await _eventually(lambda: path.stat().st_size > before + checkpoints.BYTES,
                          "the database file holds the jobs written to the WAL")
        own = backend._connection()
        assert own.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == checkpoints.BACKSTOP
    finally:
        await backend.close()


async def test_a_started_over_wal_is_cut_to_what_it_holds(tmp_path: Path) -> None:
    """The size the thread reads is what the WAL holds: after a complete checkpoint, the
    backend's next commit starts the file over and cuts it."""
    path = tmp_path / "jobs.db"
    backend = SqliteBackend(f"sqlite:///{path}")
    try:
        await backend.migrate()
        await backend.insert([new(args=PAYLOAD) for _ in range(300)], NOW)
        with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as other:
            # Busy while the thread's own checkpoint runs: complete once it has finished.
            await _eventually(lambda: _complete(other), "a complete checkpoint")
        assert checkpoints.wal_state(str(path))[0] >= checkpoints.BYTES
        # A writer starts the WAL over only when no checkpoint (the thread's) is under way.
        for _ in range(100):
            await backend.insert([new()], NOW)
            if checkpoints.wal_state(str(path))[0] < checkpoints.BYTES // 10:
                break
            await asyncio.sleep(0.05)
        assert checkpoints.wal_state(str(path))[0] < checkpoints.BYTES // 10
    finally:
        await backend.close()


async def test_closing_a_backend_ends_its_thread(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    backend = SqliteBackend(f"sqlite:///{path}")
    await backend.migrate()
    assert len(_threads(path)) == 1
    await backend.close()
    assert _threads(path) == []


async def test_a_backend_never_closed_leaves_no_thread_behind(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    backend = SqliteBackend(f"sqlite:///{path}")
    await backend.migrate()
    assert len(_threads(path)) == 1
    del backend
    gc.collect()
    await _eventually(lambda: _threads(path) == [], "the thread ends with its backend")


WRITER = """
import os, sys
from conveyor import Conveyor
app = Conveyor(sys.argv[1])
job = app.job(name="fill")(lambda blob: None)
for i in range(int(sys.argv[2])):
    job.enqueue("x" * 4000)
print(os.path.getsize(sys.argv[3]))  # before the last connection's own checkpoint at close
app.close()
"""


async def test_processes_writing_while_threads_checkpoint_leave_the_file_whole(
        tmp_path: Path) -> None:
    """Three processes enqueue one job at a time, each with its own checkpointer, through
    several checkpoints: every job is there and SQLite finds the file intact."""
    path = tmp_path / "jobs.db"
    url = f"sqlite:///{path}"
    backend = SqliteBackend(url)
    await backend.migrate()
    await backend.close()
    count = 1500
    writers = [await asyncio.create_subprocess_exec(
        sys.executable, "-c", WRITER, url, str(count), str(path), stdout=subprocess.PIPE)
        for _ in range(3)]
    sizes = []
    for writer in writers:
        out, _ = await asyncio.wait_for(writer.communicate(), GUARD * 4)
        assert writer.returncode == 0
        sizes.append(int(out))
    # 18 MB of arguments, under the inline backstop: the threads checkpointed on the way.
    assert max(sizes) > 3 * checkpoints.BYTES
    with contextlib.closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("SELECT count(*) FROM conveyor_jobs").fetchone()[0] == 3 * count
