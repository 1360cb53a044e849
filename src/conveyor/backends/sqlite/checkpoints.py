"""Checkpoints off the hot path: a thread copies the WAL back into the database file.

SQLite checkpoints inside whichever commit takes the WAL past `wal_autocheckpoint` pages
(1,000 by default): that commit - an enqueue, a claim, a settle - then copies the pages and
syncs both files, which takes milliseconds on a busy disk, with its caller (often an event
loop) stopped meanwhile. Conveyor's rows touch several index pages each, so a job's life
fills 1,000 pages every few dozen jobs: checkpoints were most of an enqueue's wall time on a
loaded disk and the tail of the latency at a steady rate.

So each open backend runs one `Checkpointer` thread on its own connection. Every
`INTERVAL` seconds it looks at the WAL file's size (a `stat`: never an open and close of a
database file, which would drop the process's POSIX locks on it) and, past `BYTES`, runs a
PASSIVE checkpoint, which takes no lock that writers or readers wait on. The size tells how
much the WAL holds because Conveyor's connections set `journal_size_limit = 0`: the writer
that starts the WAL over after a complete checkpoint cuts the file to what it wrote. The
connections' automatic checkpoint stays as a backstop at `BACKSTOP` pages: where the thread
cannot keep up, SQLite checkpoints inline as it always did. What remains on a commit's path
is the sync of the WAL header when a writer starts the WAL over: once per `BYTES` written,
instead of a checkpoint's copying and its syncs every 1,000 pages.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import urllib.parse
import weakref

log = logging.getLogger(__name__)

BYTES = 4 * 1024 * 1024
"""WAL size that starts a checkpoint: about SQLite's own threshold of 1,000 pages of 4 KiB."""
BACKSTOP = 10_000
"""The connections' `wal_autocheckpoint` in pages: SQLite checkpoints inline past this."""
INTERVAL = 0.05
"""Seconds between two looks at the WAL's size."""


def wal_state(path: str) -> tuple[int, int]:
    """The size and modification time (ns) of the WAL of the database at `path`; zeros when
    there is none."""
    try:
        stat = os.stat(path + "-wal")
    except OSError:
        return 0, 0
    return stat.st_size, stat.st_mtime_ns


class Checkpointer(threading.Thread):
    """Checkpoints `path` whenever its WAL holds `BYTES` or more, until `stop()` or until
    `owner` (the backend it serves) is garbage: a backend never closed leaves no thread."""

    def __init__(self, path: str, owner: object) -> None:
        super().__init__(name=f"conveyor-checkpoint {path}", daemon=True)
        self.path = path
        self._owner = weakref.ref(owner)
        self._stopping = threading.Event()
        self._conn: sqlite3.Connection | None = None

    def run(self) -> None:
        done = (0, 0)
        """The WAL as the last complete checkpoint left it: nothing to do until it changes."""
        try:
            while not self._stopping.wait(INTERVAL) and self._owner() is not None:
                state = wal_state(self.path)
                if state[0] >= BYTES and state != done and self._checkpoint():
                    done = state
        finally:
            self._disconnect()

    def _checkpoint(self) -> bool:
        """One PASSIVE checkpoint: whether it copied the whole WAL. One left partial (a
        reader still needs old pages, another checkpoint holds the lock) or failed (the
        file went away) is tried again on the next turn; the backstop covers the rest."""
        try:
            if self._conn is None:
                target = f"file:{urllib.parse.quote(os.path.abspath(self.path))}?mode=rw"
                self._conn = sqlite3.connect(target, uri=True, isolation_level=None,
                                             check_same_thread=False, timeout=0)
            busy, frames, copied = self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error as exc:
            log.debug("background checkpoint of %s failed: %s", self.path, exc)
            self._disconnect()
            return False
        return not busy and frames == copied

    def _disconnect(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None

    def stop(self) -> None:
        """Ask the thread to end and wait for it (a checkpoint under way finishes first)."""
        self._stopping.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join()


def configure(conn: sqlite3.Connection) -> None:
    """One of Conveyor's connections: SQLite checkpoints inline only past the backstop, and a
    WAL started over is cut to what it holds (so its size says how much waits)."""
    conn.execute(f"PRAGMA wal_autocheckpoint = {BACKSTOP}")
    conn.execute("PRAGMA journal_size_limit = 0")
