"""Transactional enqueue: insert jobs on the caller's own connection, in its transaction.

If the caller rolls back, the jobs were never there; if it commits, they are there exactly
when its own rows are. Accepts `sqlite3` connections, psycopg connections (sync and async),
and SQLAlchemy connections and sessions (unwrapped to the driver connection).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from conveyor import errors, model
from conveyor.backends.sqlite import backend as sqlite_backend
from conveyor.backends.sqlite import inserts as sqlite_inserts


def insert_on(connection: Any, url: str, jobs: Sequence[model.NewJob],
              now: datetime) -> list[model.Inserted]:
    """Insert on a blocking connection (sqlite3, psycopg.Connection, SQLAlchemy sync)."""
    raw = driver_connection(connection)
    if isinstance(raw, sqlite3.Connection):
        _same_sqlite_file(raw, url)
        return sqlite_inserts.insert_jobs(raw, jobs, now)
    from conveyor.backends.postgres import inserts as pg_inserts

    return pg_inserts.insert_on(raw, url, jobs, now)


async def ainsert_on(connection: Any, url: str, jobs: Sequence[model.NewJob],
                     now: datetime) -> list[model.Inserted]:
    """Insert on an async connection (psycopg.AsyncConnection); blocking ones also work."""
    raw = driver_connection(connection)
    if isinstance(raw, sqlite3.Connection):
        return insert_on(raw, url, jobs, now)
    from conveyor.backends.postgres import inserts as pg_inserts

    return await pg_inserts.ainsert_on(raw, url, jobs, now)


def driver_connection(connection: Any) -> Any:
    """The DB-API connection under a SQLAlchemy session or connection; others unchanged.

    SQLAlchemy only commits a transaction it knows it began: writing straight to the driver
    would leave its `commit()` a no-op. So its transaction is begun first (a Session begins
    one when asked for its connection)."""
    if hasattr(connection, "get_bind") and hasattr(connection, "connection"):  # Session
        connection = connection.connection()
    in_transaction = getattr(connection, "in_transaction", None)
    if callable(in_transaction) and hasattr(connection, "begin") and not in_transaction():
        connection.begin()
    proxied = getattr(connection, "connection", None)
    driver = getattr(proxied, "driver_connection", None)
    return driver if driver is not None else connection


def _same_sqlite_file(conn: sqlite3.Connection, url: str) -> None:
    """Refuse a connection to another file: the jobs would land where no worker looks."""
    main = next((row[2] for row in conn.execute("PRAGMA database_list") if row[1] == "main"),
                "")
    expected = os.path.realpath(sqlite_backend.path_of(url))
    if not main or os.path.realpath(main) != expected:
        raise errors.ConfigurationError(
            f"the connection is to {main or 'an in-memory database'!r}, but this app keeps "
            f"its jobs in {expected!r}")
