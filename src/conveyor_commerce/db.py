"""Connections to the kit's tables, which live in the same database as the jobs.

Why SQLAlchemy Core: one query layer for both engines (the kit's parts for carts, campaigns
and the PrestaShop catalog reuse it), row locks that are a no-op where the engine has none
(`with_for_update`), pooled connections, and connections that `job.using(conn)` accepts as
they are - so a message and the job that sends it are written in one transaction.

SQLite: every transaction starts with `BEGIN IMMEDIATE` (the write lock is taken up front, so
two writers never deadlock upgrading a read lock) and waits up to 30 s on a busy database,
as the engine's own connections do. PostgreSQL: psycopg 3, a small pool per process
(`max_connections` is shared by every worker).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from conveyor import ConfigurationError

BUSY_TIMEOUT_MS = 30_000


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on both engines (SQLite keeps text)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the kit stores aware times only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        moment: datetime = value
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class Money(sa.types.TypeDecorator[Decimal]):
    """Exact decimal amounts: NUMERIC on PostgreSQL, decimal text on SQLite (whose NUMERIC
    would keep a float)."""

    impl = sa.Numeric(14, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.Text())
        return dialect.type_descriptor(sa.Numeric(14, 2, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        return str(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> Decimal | None:
        return None if value is None else Decimal(str(value))


def sqlalchemy_url(url: str) -> str:
    """The SQLAlchemy URL of a Conveyor storage URL (same database, psycopg 3 driver)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ConfigurationError(f"storage URL {url!r} has no scheme")
    base = scheme.split("+", 1)[0]
    if base == "sqlite":
        return f"sqlite://{rest}"
    if base in ("postgresql", "postgres"):
        return f"postgresql+psycopg://{rest}"
    raise ConfigurationError(f"the commerce kit supports sqlite and postgresql, not {base!r}")


class Database:
    """A lazily created engine per process (a forked worker never reuses its parent's)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._target = sqlalchemy_url(url)
        self.dialect = "sqlite" if self._target.startswith("sqlite") else "postgresql"
        self._engine: sa.Engine | None = None
        self._pid = 0

    @property
    def engine(self) -> sa.Engine:
        if self._engine is None or self._pid != os.getpid():
            self._engine = self._create()
            self._pid = os.getpid()
        return self._engine

    def _create(self) -> sa.Engine:
        if self.dialect == "sqlite":
            engine = sa.create_engine(self._target, poolclass=sa.pool.QueuePool,
                                      pool_size=4, max_overflow=8)
            event.listen(engine, "connect", _sqlite_connect)
            event.listen(engine, "begin", _sqlite_begin)
            return engine
        return sa.create_engine(self._target, pool_size=2, max_overflow=6,
                                pool_pre_ping=True, pool_recycle=600)

    @contextlib.contextmanager
    def begin(self) -> Iterator[sa.Connection]:
        """One transaction: committed when the block ends, rolled back on an exception."""
        with self.engine.begin() as conn:
            yield conn

    def dispose(self) -> None:
        if self._engine is not None and self._pid == os.getpid():
            self._engine.dispose()
        self._engine = None


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
    dbapi_connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    dbapi_connection.execute("PRAGMA foreign_keys = ON")
    # As the engine's connections: in WAL mode a commit is durable against a crash of the
    # process, not of the machine, and does not wait for an fsync of its own.
    dbapi_connection.execute("PRAGMA synchronous = NORMAL")


def _sqlite_begin(conn: sa.Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")
