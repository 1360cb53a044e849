"""SQLite backend: the embedded default, one file, zero set-up.

WAL journal, `synchronous=NORMAL`, and every write inside `BEGIN IMMEDIATE`. SQLite's own busy
handler would block the event loop, so it is off (`busy_timeout=0`): a busy database is retried
here with short asynchronous sleeps until `busy_deadline`, and then reported as
`StorageUnavailable` - a "database is locked" error never reaches a caller. A value SQLite
refuses (malformed JSON, too big) is `Unstorable`: retrying would not help.

Statements are tiny and run directly on the event loop (a thread hop costs more than they do).
Wake-ups: an in-process event for this connection's own writes, a datagram to the waiting
backends of other processes and connections (`wakes`), and adaptive `PRAGMA data_version`
polling (a shared-memory read) for whatever those miss.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import sqlite3
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import orjson

from conveyor import errors, metrics, model, outcome
from conveyor.backends import base, migrate, sql, sqlfile
from conveyor.backends.sql import binding
from conveyor.backends.sql import plans as shared_plans
from conveyor.backends.sqlite import blocking, inserts, plans, statements, wakes
from conveyor.backends.sqlite import rows as convert

T = TypeVar("T")
_MIN_VERSION = (3, 38, 0)
_QUERIES = sqlfile.load("conveyor.backends.sqlite")
_CLAIMABLE, _CLAIM_ALONE = _QUERIES["claimable"], _QUERIES["claim_alone"]
_BUSY_MARKERS = ("database is locked", "database table is locked", "database is busy")
_REFUSAL_MARKERS = ("malformed JSON", "JSON cannot hold BLOB values")
"""Errors about a value given, not about the database: retrying would fail the same way."""


def path_of(url: str) -> str:
    """`sqlite:///rel.db` is relative to the working directory, `sqlite:////abs.db` absolute."""
    parts = urlsplit(url)
    if parts.scheme != "sqlite" or parts.netloc:
        raise errors.InvalidUrl(f"SQLite URL {url!r} must look like sqlite:///path/to/file.db")
    path = parts.path[1:] if parts.path.startswith("/") else parts.path
    if not path or path == ":memory:":
        raise errors.InvalidUrl(
            f"SQLite URL {url!r} names no file; workers and producers share one database "
            "file, so in-memory databases are not supported"
        )
    return path


class SqliteBackend(sql.SqlBackend, blocking.BlockingCalls):
    """`base.Backend` on one SQLite file; one connection per instance. Enqueues and reads
    from plain code need no event loop (`blocking.BlockingCalls`)."""

    migrations = "conveyor.backends.sqlite"

    def __init__(self, url: str, *, busy_deadline: float | None = None,
                 poll_interval: float | None = None, create: bool = True) -> None:
        self.url = url
        self.path = path_of(url)
        self.create = create
        """Create the file (and its directory) on first use; `migrate` always may."""
        query = parse_qs(urlsplit(url).query)
        self.busy_deadline = busy_deadline or float(query.get("busy_timeout", ["60"])[0])
        self.poll_interval = poll_interval or float(query.get("poll", ["0.002"])[0])
        self._conn: sqlite3.Connection | None = None
        self._wake = asyncio.Event()
        directory = wakes.directory_of(self.path)
        self._listener = wakes.Listener(directory, self._wake.set)
        self._sender = wakes.Sender(directory)
        self._data_version = -1
        self._changed_at = time.monotonic()

    # -- connection and transactions ------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = self._open()
        return self._conn

    def _open(self) -> sqlite3.Connection:
        if sqlite3.sqlite_version_info < _MIN_VERSION:
            raise errors.ConfigurationError(
                f"SQLite {sqlite3.sqlite_version} is too old; Conveyor needs 3.38 or newer"
            )
        if self.create:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        elif not Path(self.path).is_file():
            raise errors.NotMigrated(
                f"there is no SQLite database at {self.path!r}; create it with "
                "`conveyor migrate` (workers also do when they start, unless --no-migrate)")
        try:
            # mode=rw: a file deleted since the check above is not created again.
            target = self.path if self.create else \
                f"file:{urllib.parse.quote(str(Path(self.path).resolve()))}?mode=rw"
            conn = sqlite3.connect(target, isolation_level=None, check_same_thread=False,
                                   uri=not self.create)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout = 0")
            if self.create:  # an existing Conveyor database is in WAL mode already
                self._retry_sync(lambda: conn.execute("PRAGMA journal_mode = WAL"))
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute(f"PRAGMA wal_autocheckpoint = {statements.CHECKPOINT_PAGES}")
        except sqlite3.Error as exc:
            raise errors.StorageUnavailable(f"cannot open SQLite database {self.path!r}: {exc}") \
                from None
        return conn

    def _retry_sync(self, action: Callable[[], T]) -> T:
        """Start-up only (before any loop work): retry a busy pragma with blocking sleeps."""
        deadline = time.monotonic() + self.busy_deadline
        while True:
            try:
                return action()
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    async def _run(self, work: Callable[[sqlite3.Connection], T], *, write: bool) -> T:
        """Run `work` in one transaction, retrying while the database is busy."""
        async def once(conn: sqlite3.Connection) -> T:
            return statements.transaction(conn, work, write)

        return await self._retrying(once)

    async def transaction(self, work: Callable[[sql.Statements], Awaitable[T]], *,
                          pipelined: bool = False, atomic: bool = True,
                          settling: bool = False) -> T:
        """The driver's write transaction (`sql.SqlBackend`), atomic whatever `atomic` says
        (a SQLite transaction costs no round trip). `work` never suspends (every statement
        here is a blocking call), so nothing else runs on this connection while it holds
        the write lock. `settling`: its commit is where the WAL is checkpointed
        (`SETTLE_CHECKPOINT_PAGES`)."""
        if not settling:
            return await self._retrying(lambda conn: statements.within(conn, work))
        return await self._retrying(lambda conn: statements.settling(conn, work))


    async def _retrying(self, once: Callable[[sqlite3.Connection], Awaitable[T]]) -> T:
        """`once` on the connection, again after a short sleep while the database is busy,
        until `busy_deadline`; SQLite's errors mapped to Conveyor's (`failure`)."""
        conn = self._connection()
        deadline = time.monotonic() + self.busy_deadline
        pause = 0.0002
        while True:
            try:
                return await once(conn)
            except (sqlite3.DataError, sqlite3.OperationalError) as exc:
                if (failure := self.failure(exc, deadline)) is not None:
                    raise failure from None
            await asyncio.sleep(pause * random.uniform(0.5, 1.5))
            pause = min(pause * 2, 0.02)

    def failure(self, exc: sqlite3.DataError | sqlite3.OperationalError,
                deadline: float) -> errors.ConveyorError | None:
        """The error to report for `exc`; None while the database is busy and `deadline`
        (monotonic) has not passed: the caller sleeps a little and tries again."""
        if isinstance(exc, sqlite3.DataError) or str(exc).startswith(_REFUSAL_MARKERS):
            return self._refused(exc)
        if not _is_busy(exc):
            return errors.StorageUnavailable(f"SQLite database {self.path!r} failed: {exc}")
        if time.monotonic() > deadline:
            return errors.StorageUnavailable(
                f"SQLite database {self.path!r} stayed locked for more than "
                f"{self.busy_deadline:g}s; nothing was written")
        return None

    async def statement(self, name: str, params: Mapping[str, Any] | None = None, *,
                        planned: bool = False, fragments: Sequence[str] = (),
                        ) -> Sequence[Mapping[str, Any]]:
        """One statement in SQLite's autocommit mode (its own transaction), retried while
        the database is busy (`sql.SqlBackend`)."""
        text = sqlfile.compose(_QUERIES, name, fragments) if fragments else _QUERIES[name]
        bound = plans.bind(dict(params or {}))

        async def once(conn: sqlite3.Connection) -> Sequence[Mapping[str, Any]]:
            rows: Sequence[Mapping[str, Any]] = conn.execute(text, bound).fetchall()
            return rows  # sqlite3.Row reads by column name

        return await self._retrying(once)

    async def claim_alone(self, queue: str, limit: int, worker: str, now: datetime,
                          names: Sequence[str] | None) -> list[model.Job] | None:
        """`claim_alone` of `queries.sql`: candidates and start in one autocommitted
        statement instead of a `BEGIN IMMEDIATE` transaction of five; None when it started
        nothing although the queue has jobs (a limit is involved, or it is paused: admission
        decides). `claimable` first, so an empty queue costs a read and no write lock; read
        again when the statement started nothing, so a claim that lost the queue's jobs to
        another worker meanwhile (every waiting worker hears of a commit) ends there instead
        of taking admission's write transaction to find nothing."""
        bound = plans.bind({"queue": queue, "limit": limit, "now": now, "worker": worker,
                            "names": None if names is None else list(names)})

        async def once(conn: sqlite3.Connection) -> list[model.Job] | None:
            if not conn.execute(_CLAIMABLE, bound).fetchone()[0]:
                return []
            cursor = conn.cursor()
            cursor.row_factory = None  # plain tuples, read by position
            rows = cursor.execute(_CLAIM_ALONE, bound).fetchall()
            if rows:
                return convert.jobs_of(rows, [column[0] for column in cursor.description])
            return None if conn.execute(_CLAIMABLE, bound).fetchone()[0] else []

        return await self._retrying(once)

    def moment(self, value: Any) -> datetime:
        return convert.from_micros(value) or convert.EPOCH

    def caller(self, connection: Any) -> inserts.Caller:
        return inserts.Caller(connection, self.url)

    def acaller(self, connection: Any) -> shared_plans.Awaiting:
        return shared_plans.Awaiting(self.caller(connection))

    def document(self, value: Any) -> Any:
        return convert.document(value)

    def job(self, row: Mapping[str, Any]) -> model.Job:
        return convert.job_from_row(row)

    def jobs_of(self, fetched: sql.Fetched) -> list[model.Job]:
        return convert.jobs_of(*fetched)

    def metric_params(self, rows: Sequence[metrics.MetricRow]) -> dict[str, Any]:
        return convert.metric_params(rows)

    def settle_params(self, outcomes: Sequence[outcome.Outcome]) -> dict[str, dict[str, Any]]:
        return {statement: {"batch": orjson.dumps(batch).decode()}
                for statement, batch in convert.group(outcomes).items()}

    def filter_params(self, where: base.JobFilter) -> dict[str, Any]:
        return convert.filter_params(where)

    async def settle_alone(self, by_statement: dict[str, dict[str, Any]], now: datetime,
                           max_errors: int) -> set[int]:
        """None: a SQLite transaction costs no round trip, so every outcome settles in one."""
        return set()

    def _refused(self, exc: sqlite3.Error) -> errors.Unstorable:
        return errors.Unstorable(f"SQLite database {self.path!r} refused a value: {exc}")

    def _notify(self) -> None:
        """Called once a commit made jobs available: this backend's own waits and every
        other waiting backend on the file hear of it."""
        self._wake.set()
        self._sender.send(self._listener.name)

    # -- the seam -------------------------------------------------------------------------

    async def migrate(self) -> list[int]:
        self.create = True

        def work(conn: sqlite3.Connection) -> list[int]:
            conn.execute("CREATE TABLE IF NOT EXISTS conveyor_migrations ("
                         "version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                         "applied_at INTEGER NOT NULL)")
            applied = {row[0] for row in conn.execute("SELECT version FROM conveyor_migrations")}
            done = []
            for step in migrate.pending(migrate.discover("conveyor.backends.sqlite"), applied):
                for statement in _statements(step.sql):
                    conn.execute(statement)
                conn.execute("INSERT INTO conveyor_migrations VALUES (?, ?, ?)",
                             (step.version, step.name, convert.to_micros(datetime.now(UTC))))
                done.append(step.version)
            return done

        return await self._run(work, write=True)

    async def check_schema(self) -> None:
        def work(conn: sqlite3.Connection) -> set[int] | None:
            if not conn.execute(_QUERIES["has_migrations"]).fetchone()[0]:
                return None
            return {row[0] for row in conn.execute(_QUERIES["applied_migrations"])}

        applied = await self._run(work, write=False)
        migrate.require(migrate.discover("conveyor.backends.sqlite"), applied,
                        f"the SQLite database {self.path!r}")

    async def close(self) -> None:
        self._listener.close()
        self._sender.close()
        if self._conn is not None:
            self._conn.close()
            self._conn = None


    async def heartbeat(self, worker: str, queues: Sequence[str], now: datetime,
                        about: base.WorkerSpec | None = None, *,
                        database_clock: bool = False) -> list[int]:
        """The database's clock is this host's: SQLite has no other."""
        stamp = datetime.now(UTC) if database_clock else now
        params = {"worker": worker, "queues": orjson.dumps(list(queues)).decode(),
                  "now": convert.to_micros(stamp), **binding.about_params(about)}

        def work(conn: sqlite3.Connection) -> list[int]:
            conn.execute(_QUERIES["heartbeat"], params)
            return [row[0] for row in conn.execute(_QUERIES["cancel_requests"], params)]

        return await self._run(work, write=True)

    async def wait(self, queues: Sequence[str], timeout: float) -> bool:
        """Until a wake-up or a commit by another connection (the version read before the
        wake-up is taken, so the commit a wake-up announced does not wake the next wait)."""
        conn = self._connection()
        self._listener.listen()
        deadline = time.monotonic() + timeout
        while True:
            version = conn.execute("PRAGMA data_version").fetchone()[0]
            changed = version != self._data_version and self._data_version != -1
            if version != self._data_version:
                self._data_version = version
                self._changed_at = time.monotonic()
            if self._wake.is_set() or changed:
                self._wake.clear()
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            with contextlib.suppress(TimeoutError):  # a scope, not wait_for: no task
                async with asyncio.timeout(min(self._poll_now(), remaining)):
                    await self._wake.wait()

    def _poll_now(self) -> float:
        """Adaptive: every `poll_interval` (2 ms) while the database is busy, backing off to
        10 ms after 1 s and 50 ms after 10 s without a change, so an idle worker costs
        almost nothing and a busy one reacts within milliseconds."""
        quiet = time.monotonic() - self._changed_at
        if quiet < 1.0:
            return self.poll_interval
        return max(self.poll_interval, 0.01 if quiet < 10.0 else 0.05)



def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return any(marker in text for marker in _BUSY_MARKERS)


def _statements(script: str) -> list[str]:
    """Split a migration into statements (handles triggers via `complete_statement`)."""
    statements, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    if current.strip() and not all(
        part.strip().startswith("--") or not part.strip() for part in current.splitlines()
    ):
        raise ValueError(f"unterminated SQL statement in migration: {current[:80]!r}")
    return statements


