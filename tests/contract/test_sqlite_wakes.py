"""SQLite's wake-ups across processes and connections (`backends.sqlite.wakes`): a waiting
backend hears of another's commit without polling, and nothing a listener leaves behind gets
in an enqueue's way. The waiting backends here poll once an hour, so a wait that returns
was woken by the datagram (the `wait_for` bounds only guard against hanging)."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path

from conveyor.backends.sqlite.backend import SqliteBackend
from conveyor.backends.sqlite.wakes import directory_of
from tests.conftest import raw
from tests.contract.seam import NOW, new

GUARD = 60.0
"""Seconds a test waits before failing instead of hanging (polling alone would take an hour)."""


async def _migrated(path: Path, poll: float = 3600.0) -> SqliteBackend:
    backend = SqliteBackend(f"sqlite:///{path}", poll_interval=poll)
    await backend.migrate()
    return backend


async def test_a_wait_hears_another_backends_insert_on_the_same_file(tmp_path: Path) -> None:
    waiter, producer = await _migrated(tmp_path / "jobs.db"), await _migrated(tmp_path / "jobs.db")
    try:
        assert not await waiter.wait(["default"], 0.01)  # listening from its first wait
        waiting = asyncio.create_task(waiter.wait(["default"], 3600.0))
        await asyncio.sleep(0.01)
        assert not waiting.done()
        await producer.insert([new()], NOW)
        assert await asyncio.wait_for(waiting, GUARD)
        # The commit the wake-up announced does not wake the next wait as well.
        assert not await waiter.wait(["default"], 0.01)
    finally:
        await producer.close()
        await waiter.close()


async def test_jobs_enqueued_close_together_are_claimed_after_one_wake_up(
        tmp_path: Path) -> None:
    """A second commit soon after the first sends no wake-up of its own (`wakes.SPACING`):
    the claim the first one starts finds both jobs."""
    waiter, producer = await _migrated(tmp_path / "jobs.db"), await _migrated(tmp_path / "jobs.db")
    try:
        assert not await waiter.wait(["default"], 0.01)
        waiting = asyncio.create_task(waiter.wait(["default"], 3600.0))
        await asyncio.sleep(0.01)
        await producer.insert([new()], NOW)
        await producer.insert([new()], NOW)
        assert await asyncio.wait_for(waiting, GUARD)
        assert len(await waiter.claim(["default"], 10, "w1", NOW)) == 2
    finally:
        await producer.close()
        await waiter.close()


async def test_a_listener_bound_after_a_send_hears_the_next_commit(tmp_path: Path) -> None:
    """The sender wakes the sockets it listed before first and checks the directory after:
    one bound since then is woken by the same commit, once the listing found it."""
    path = tmp_path / "jobs.db"
    early, waiter, producer = await _migrated(path), await _migrated(path), await _migrated(path)
    try:
        assert not await early.wait(["default"], 0.01)
        await producer.insert([new()], NOW)  # the sender lists `early` alone
        assert not await waiter.wait(["default"], 0.01)  # bound after that listing
        waiting = asyncio.create_task(waiter.wait(["default"], 3600.0))
        await asyncio.sleep(0.01)
        await producer.insert([new()], NOW)
        assert await asyncio.wait_for(waiting, GUARD)
        assert await asyncio.wait_for(early.wait(["default"], 3600.0), GUARD)
    finally:
        for backend in (producer, waiter, early):
            await backend.close()


async def test_a_wait_hears_a_blocking_enqueue_in_another_process(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    waiter = await _migrated(path)
    try:
        assert not await waiter.wait(["default"], 0.01)
        waiting = asyncio.create_task(waiter.wait(["default"], 3600.0))
        script = ("import sys; from conveyor import Conveyor; app = Conveyor(sys.argv[1]); "
                  "app.job(name='ping')(lambda: None).enqueue(); app.close()")
        done = await asyncio.to_thread(subprocess.run, [sys.executable, "-c", script,
                                                        f"sqlite:///{path}"], timeout=GUARD)
        assert done.returncode == 0
        assert await asyncio.wait_for(waiting, GUARD)
    finally:
        await waiter.close()


async def test_writes_that_send_nothing_still_wake_by_polling(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    waiter = await _migrated(path, poll=0.002)
    try:
        assert not await waiter.wait(["default"], 0.01)
        waiting = asyncio.create_task(waiter.wait(["default"], 3600.0))
        await asyncio.to_thread(raw, f"sqlite:///{path}", (  # another program's insert
            "INSERT INTO conveyor_jobs (name, queue, state, run_at, inserted_at) "
            "VALUES ('job', 'default', 'available', 0, 0)"))
        assert await asyncio.wait_for(waiting, GUARD)
    finally:
        await waiter.close()


def _leftovers(folder: Path) -> socket.socket:
    """A dead listener's socket file, a file that is no socket, and a live listener that never
    reads (returned)."""
    folder.mkdir()
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    dead.bind(str(folder / "dead.sock"))
    dead.close()  # its file stays, as a killed worker's does
    (folder / "notes.txt").write_text("not a socket: left alone")
    full = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    full.bind(str(folder / "full.sock"))  # its queue fills up
    return full


async def test_dead_and_full_listeners_do_not_stop_an_enqueue(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    producer = await _migrated(path)
    folder = directory_of(str(path))
    full = _leftovers(Path(folder))
    try:
        inserted = [await producer.insert([new()], NOW) for _ in range(50)]
        assert len({batch[0].id for batch in inserted}) == 50
        assert sorted(os.listdir(folder)) == ["full.sock", "notes.txt"]  # the dead one: gone
        assert full.recv(16) == b"\0"
    finally:
        full.close()
        await producer.close()


async def test_closing_a_backend_removes_its_socket(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    waiter = await _migrated(path)
    await waiter.wait(["default"], 0.01)
    folder = directory_of(str(path))
    assert len(os.listdir(folder)) == 1
    await waiter.close()
    assert os.listdir(folder) == []
