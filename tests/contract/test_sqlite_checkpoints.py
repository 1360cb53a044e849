"""Where SQLite checkpoints its WAL: a commit that takes the WAL past the connection's
threshold copies it into the database file and syncs both before it returns. Settles
(whose jobs already started) take the lower threshold, so a worker's settle checkpoints
before an enqueue or a claim, whose time is a job's latency, reaches its own.

In WAL mode only a checkpoint writes the database file itself, so its size says whether
one ran; `os.stat` opens nothing (opening and closing the file would drop this process's
locks on it)."""

from __future__ import annotations

import os

from conveyor import outcome
from conveyor.backends.sqlite import statements
from conveyor.backends.sqlite.backend import SqliteBackend
from tests.contract.seam import NOW, new

PAGE = 4096


async def test_a_settle_checkpoints_the_wal_and_an_enqueue_or_a_claim_does_not(
        sqlite_backend: SqliteBackend) -> None:
    backend, path = sqlite_backend, sqlite_backend.path
    before = os.stat(path).st_size
    big = "x" * 3000  # about a page of WAL a job
    rows = 1_300
    await backend.insert([new(args=[big, k]) for k in range(rows)], NOW)
    wal_pages = os.stat(f"{path}-wal").st_size // PAGE
    assert statements.SETTLE_CHECKPOINT_PAGES < wal_pages < statements.CHECKPOINT_PAGES
    assert os.stat(path).st_size == before  # the enqueue's commit did not checkpoint

    jobs = await backend.claim(["default"], 1, "w1", NOW)
    assert len(jobs) == 1 and os.stat(path).st_size == before  # nor did the claim's

    await backend.finish([outcome.Completed(jobs[0].id, jobs[0].attempt)], NOW, 20)
    assert os.stat(path).st_size > before + rows * 3000  # the settle's did
    assert backend._connection().execute("PRAGMA wal_autocheckpoint").fetchone()[0] \
        == statements.CHECKPOINT_PAGES  # and the connection's threshold is back


async def test_conveyor_connections_checkpoint_later_than_sqlites_default(
        sqlite_backend: SqliteBackend) -> None:
    threshold = sqlite_backend._connection().execute("PRAGMA wal_autocheckpoint").fetchone()[0]
    assert threshold == statements.CHECKPOINT_PAGES > statements.SETTLE_CHECKPOINT_PAGES
