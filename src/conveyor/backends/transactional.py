"""Transactional enqueue: insert jobs on the caller's own connection, in its transaction.

If the caller rolls back, the jobs were never there; if it commits, they are there exactly
when its own rows are. Accepts `sqlite3` connections, psycopg connections (sync and async),
SQLAlchemy connections and sessions, and Django's connections inside `transaction.atomic()`
(each unwrapped to the driver connection).
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from conveyor import errors, model
from conveyor.backends import migrate, urls


def insert_on(connection: Any, url: str, jobs: Sequence[model.NewJob], now: datetime, *,
              check_schema: bool = True) -> list[model.Inserted]:
    """Insert on a blocking connection (sqlite3, psycopg.Connection, SQLAlchemy sync).

    With `check_schema`, a database without this version's tables is refused with
    `NotMigrated` by reads alone, before anything is written: the caller's transaction is
    left as it was (on PostgreSQL a failed insert would have aborted it)."""
    raw = driver_connection(connection)
    return urls.open_backend(url, create=False).insert_on(raw, jobs, now,
                                                          check_schema=check_schema)


async def ainsert_on(connection: Any, url: str, jobs: Sequence[model.NewJob], now: datetime,
                     *, check_schema: bool = True) -> list[model.Inserted]:
    """Insert on an async connection (psycopg.AsyncConnection); blocking ones also work."""
    raw = driver_connection(connection)
    return await urls.open_backend(url, create=False).ainsert_on(raw, jobs, now,
                                                                 check_schema=check_schema)


def require_schema(available: str, applied: Collection[int] | None, where: str) -> None:
    """`migrate.require` for a caller's connection: says that nothing was touched."""
    try:
        migrate.require(migrations(available), applied, where)
    except errors.NotMigrated as exc:
        raise errors.NotMigrated(
            f"{exc}. Transactional enqueue creates no tables: nothing was written and the "
            "transaction is as it was") from None


@functools.cache
def migrations(package: str) -> list[migrate.Migration]:
    return migrate.discover(package)


def driver_connection(connection: Any) -> Any:
    """The DB-API connection under a SQLAlchemy session or connection; others unchanged.

    SQLAlchemy only commits a transaction it knows it began: writing straight to the driver
    would leave its `commit()` a no-op. So its transaction is begun first (a Session begins
    one when asked for its connection)."""
    if hasattr(connection, "in_atomic_block") and hasattr(connection, "ensure_connection"):
        return _django_driver(connection)
    if hasattr(connection, "get_bind") and hasattr(connection, "connection"):  # Session
        connection = connection.connection()
    in_transaction = getattr(connection, "in_transaction", None)
    if callable(in_transaction) and hasattr(connection, "begin") and not in_transaction():
        connection.begin()
    proxied = getattr(connection, "connection", None)
    driver = getattr(proxied, "driver_connection", None)
    return driver if driver is not None else connection


def _django_driver(wrapper: Any) -> Any:
    """The DB-API connection under a Django connection, which must be inside
    `transaction.atomic()`: outside one, Django commits every statement on its own."""
    alias = getattr(wrapper, "alias", "?")
    if not wrapper.in_atomic_block:
        raise errors.ConfigurationError(
            f"enqueue on Django's connection {alias!r} only inside transaction.atomic(): "
            "outside one, every statement commits on its own")
    if wrapper.needs_rollback:
        raise errors.ConfigurationError(
            f"the atomic block on Django's connection {alias!r} has already failed (a "
            "query in it raised); it will be rolled back, so nothing can be enqueued in it")
    wrapper.ensure_connection()
    return wrapper.connection
