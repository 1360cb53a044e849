"""Transactional enqueue on a database the app has not migrated: a clear `NotMigrated`,
found by reads alone, before anything is written - the caller's transaction goes on as if
nothing happened (on PostgreSQL a failed insert would have aborted it). Nothing is created.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conveyor import ConfigurationError, Conveyor, JobFilter, NotMigrated
from conveyor.backends.sqlite.backend import path_of

FRESH = "conveyor_unmigrated"


def _ship_job(app: Conveyor) -> Any:
    @app.job(name="ship_order")
    def ship_order(order_id: int) -> None: ...

    return ship_order


def test_sqlite_unmigrated_database(tmp_path: Path) -> None:
    app = Conveyor(f"sqlite:///{tmp_path / 'shop.db'}")
    ship_order = _ship_job(app)
    conn = sqlite3.connect(path_of(app.url))
    conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY)")
    conn.execute("INSERT INTO orders (id) VALUES (1)")
    with pytest.raises(NotMigrated, match=r"has no Conveyor tables.*conveyor migrate.*nothing "
                                          r"was written"):
        ship_order.using(conn).enqueue(1)
    conn.execute("INSERT INTO orders (id) VALUES (2)")  # the transaction goes on
    conn.commit()
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert tables == {"orders"}
    conn.execute("CREATE TABLE conveyor_migrations (version INTEGER PRIMARY KEY, name TEXT, "
                 "applied_at INTEGER)")
    conn.execute("INSERT INTO conveyor_migrations VALUES (1, 'initial', 0)")
    conn.commit()
    with pytest.raises(NotMigrated, match=r"lacks Conveyor migration\(s\) 2, 3"):
        ship_order.using(conn).enqueue(3)
    conn.execute("DROP TABLE conveyor_migrations")
    conn.commit()
    app.migrate()
    job = ship_order.using(conn).enqueue(3)
    conn.commit()
    assert [j.id for j in app.jobs(JobFilter(limit=10))] == [job.id]
    assert [row[0] for row in conn.execute("SELECT id FROM orders ORDER BY id")] == [1, 2]
    conn.close()
    app.close()


@pytest.fixture
def fresh_schema(pg_url: str) -> Iterator[str]:
    """A schema with no Conveyor tables in the test database: a connection whose search
    path is this schema sees the database as an app that never migrated it."""
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute(f"DROP SCHEMA IF EXISTS {FRESH} CASCADE")
        admin.execute(f"CREATE SCHEMA {FRESH}")
        admin.execute(f"CREATE TABLE {FRESH}.orders (id int PRIMARY KEY)")
    yield FRESH
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute(f"DROP SCHEMA IF EXISTS {FRESH} CASCADE")


@pytest.mark.postgres
def test_postgres_unmigrated_database_leaves_the_transaction_usable(
        pg_url: str, fresh_schema: str) -> None:
    import psycopg

    app = Conveyor(pg_url)
    ship_order = _ship_job(app)
    with psycopg.connect(pg_url, options=f"-c search_path={fresh_schema}") as conn:
        conn.execute("INSERT INTO orders (id) VALUES (1)")
        with pytest.raises(NotMigrated, match=rf"'{pg_url.rsplit('/', 1)[1]}' of this "
                                              r"connection has no Conveyor tables"):
            ship_order.using(conn).enqueue(1)
        conn.execute("INSERT INTO orders (id) VALUES (2)")  # not aborted
        conn.commit()
        assert [row[0] for row in conn.execute("SELECT id FROM orders ORDER BY id")] == [1, 2]
        conn.execute("CREATE TABLE conveyor_migrations (version int PRIMARY KEY, name text, "
                     "applied_at timestamptz)")
        conn.execute("INSERT INTO conveyor_migrations VALUES (1, 'initial', now())")
        conn.commit()
        with pytest.raises(NotMigrated, match=r"lacks Conveyor migration\(s\) 2, 3"):
            ship_order.using(conn).enqueue(2)
        conn.execute("INSERT INTO orders (id) VALUES (3)")
        conn.commit()
    app.close()


@pytest.mark.postgres
async def test_postgres_async_unmigrated_database(pg_url: str, fresh_schema: str) -> None:
    import psycopg

    app = Conveyor(pg_url)
    ship_order = _ship_job(app)
    async with await psycopg.AsyncConnection.connect(
            pg_url, options=f"-c search_path={fresh_schema}") as conn:
        await conn.execute("INSERT INTO orders (id) VALUES (1)")
        with pytest.raises(NotMigrated, match="has no Conveyor tables"):
            await ship_order.using(conn).aenqueue(1)
        await conn.execute("INSERT INTO orders (id) VALUES (2)")
        await conn.commit()
    await app.aclose()


@pytest.mark.postgres
def test_postgres_failed_transaction_is_named(pg_url: str) -> None:
    import psycopg

    app = Conveyor(pg_url)
    ship_order = _ship_job(app)
    with psycopg.connect(pg_url) as conn:
        with pytest.raises(psycopg.errors.DivisionByZero):
            conn.execute("SELECT 1 / 0")
        with pytest.raises(ConfigurationError, match="transaction has already failed"):
            ship_order.using(conn).enqueue(1)
        conn.rollback()
        job = ship_order.using(conn).enqueue(1)
        conn.commit()
    assert app.get(job.id).args == [1]
    app.close()
