"""Named statements on a SQLite connection, and the transactions they run in (shared by the
backend and its claim)."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

import orjson

from conveyor import limits
from conveyor.backends import sql, sqlfile
from conveyor.backends.sql import plans as shared_plans
from conveyor.backends.sqlite import plans
from conveyor.backends.sqlite import rows as convert

T = TypeVar("T")
_QUERIES = sqlfile.load("conveyor.backends.sqlite")
SETTLE_CHECKPOINT_PAGES = 1000
"""WAL pages after which a settle's commit checkpoints (SQLite's default threshold). A
commit that crosses the threshold copies the WAL into the database and syncs both files
before it returns (2-6 ms); a settle's jobs already started, so nobody waits on it."""
CHECKPOINT_PAGES = 2 * SETTLE_CHECKPOINT_PAGES
"""The threshold of every other commit on Conveyor's connections (enqueues, claims): with a
worker running, settles reach theirs first and an enqueue or a claim, whose time is a job's
latency, does not checkpoint; with none, enqueues still keep the WAL bounded."""


class Statements:
    """`sql.Statements` on a SQLite connection: lists bound as JSON, times as microseconds."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    async def rows(self, name: str, params: Mapping[str, Any], *,
                   planned: bool = False) -> Sequence[Mapping[str, Any]]:
        return plans.rows(self.conn, name, dict(params))  # type: ignore[return-value]

    async def job_rows(self, name: str, params: Mapping[str, Any]) -> sql.Fetched:
        cursor = self.conn.cursor()
        cursor.row_factory = None  # plain tuples, read by position
        rows = cursor.execute(_QUERIES[name], plans.bind(dict(params))).fetchall()
        return rows, [column[0] for column in cursor.description or ()]

    async def candidates(self, queue: str, limit: int, now: datetime,
                         names: Sequence[str] | None) -> Sequence[Mapping[str, Any]]:
        """The queue's unkeyed candidates, then the head of each ready rate key, one read
        each (cheap here: no round trips), none while the queue is paused."""
        if self.conn.execute(_QUERIES["queue_paused"], {"queue": queue}).fetchone():
            return []
        only = None if names is None else orjson.dumps(list(names)).decode()
        params = {"queue": queue, "limit": limit, "now": convert.to_micros(now), "names": only}
        rows = self.conn.execute(_QUERIES["candidates"], params).fetchall()
        for (key,) in self.conn.execute(_QUERIES["ready_keys"], params).fetchall():
            rows += self.conn.execute(_QUERIES["key_head"],
                                      {"queue": queue, "key": key, "names": only}).fetchall()
        return rows  # sqlite3.Row reads by column name

    def candidate(self, row: Mapping[str, Any]) -> limits.Candidate:
        return convert.candidate(row)

    async def follow(self, plan: shared_plans.Steps[T]) -> T:
        return plans.drive(self.conn, plan)

    async def wake_all(self) -> None:
        """Nothing to send: other processes see the commit (`PRAGMA data_version`)."""


@contextlib.contextmanager
def transaction_of(conn: sqlite3.Connection, write: bool = True) -> Iterator[None]:
    """One transaction around the block, a write one (`BEGIN IMMEDIATE`) where it may write:
    committed when the block ends, rolled back when it (or the commit) raises."""
    conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


async def within(conn: sqlite3.Connection,
                 work: Callable[[sql.Statements], Awaitable[T]]) -> T:
    """`work` in one write transaction; it never suspends (every statement here blocks)."""
    with transaction_of(conn):
        return await work(Statements(conn))


async def settling(conn: sqlite3.Connection,
                   work: Callable[[sql.Statements], Awaitable[T]]) -> T:
    """`within`, its commit checkpointing the WAL past `SETTLE_CHECKPOINT_PAGES`."""
    conn.execute(f"PRAGMA wal_autocheckpoint = {SETTLE_CHECKPOINT_PAGES}")
    try:
        return await within(conn, work)
    finally:
        conn.execute(f"PRAGMA wal_autocheckpoint = {CHECKPOINT_PAGES}")


def transaction(conn: sqlite3.Connection, work: Callable[[sqlite3.Connection], T],
                write: bool) -> T:
    """`work` in one transaction, a write one where it may write."""
    with transaction_of(conn, write):
        return work(conn)
