"""Transactional enqueue: the job exists exactly when the caller's transaction commits."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest

from conveyor import ConfigurationError, Conveyor, JobFilter
from conveyor.backends.sqlite.backend import path_of


def _ship_job(app: Conveyor):  # type: ignore[no-untyped-def]
    @app.job(name="ship_order")
    def ship_order(order_id: int) -> None: ...

    return ship_order


def test_sqlite_commit_and_rollback_rounds(tmp_path: Path) -> None:
    app = Conveyor(f"sqlite:///{tmp_path / 'shop.db'}")
    ship_order = _ship_job(app)
    app.migrate()
    conn = sqlite3.connect(path_of(app.url))
    conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY)")
    conn.commit()
    rng, committed = random.Random(1), set()
    for order_id in range(1000):
        conn.execute("INSERT INTO orders (id) VALUES (?)", (order_id,))
        job = ship_order.using(conn).enqueue(order_id)
        assert job.id > 0
        if rng.random() < 0.5:
            conn.commit()
            committed.add(order_id)
        else:
            conn.rollback()
    jobs = app.jobs(JobFilter(limit=10_000))
    assert sorted(job.args[0] for job in jobs) == sorted(committed)
    orders = {row[0] for row in conn.execute("SELECT id FROM orders")}
    assert orders == committed
    conn.close()
    app.close()


def test_sqlite_connection_to_another_file_is_refused(tmp_path: Path) -> None:
    app = Conveyor(f"sqlite:///{tmp_path / 'jobs.db'}")
    ship_order = _ship_job(app)
    other = sqlite3.connect(tmp_path / "other.db")
    with pytest.raises(ConfigurationError, match=r"other\.db"):
        ship_order.using(other).enqueue(1)
    other.close()
    app.close()


@pytest.mark.postgres
def test_postgres_commit_and_rollback_rounds(pg_url: str) -> None:
    import psycopg

    from tests.conftest import _truncate

    _truncate(pg_url)
    app = Conveyor(pg_url)
    ship_order = _ship_job(app)
    rng, committed = random.Random(2), set()
    with psycopg.connect(pg_url) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS orders (id int PRIMARY KEY)")
        conn.execute("TRUNCATE orders")
        conn.commit()
        for order_id in range(1000):
            conn.execute("INSERT INTO orders (id) VALUES (%s)", (order_id,))
            ship_order.using(conn).enqueue(order_id)
            if rng.random() < 0.5:
                conn.commit()
                committed.add(order_id)
            else:
                conn.rollback()
        orders = {row[0] for row in conn.execute("SELECT id FROM orders")}
    jobs = app.jobs(JobFilter(limit=10_000))
    assert sorted(job.args[0] for job in jobs) == sorted(committed) == sorted(orders)
    app.close()


@pytest.mark.postgres
async def test_postgres_async_connection(pg_url: str) -> None:
    import psycopg

    from tests.conftest import _truncate

    _truncate(pg_url)
    app = Conveyor(pg_url)
    ship_order = _ship_job(app)
    async with await psycopg.AsyncConnection.connect(pg_url) as conn:
        kept = await ship_order.using(conn).aenqueue(1)
        await conn.commit()
        await ship_order.using(conn).aenqueue(2)
        await conn.rollback()
    assert [job.id for job in await app.ajobs()] == [kept.id]
    await app.aclose()


@pytest.mark.postgres
def test_sqlalchemy_connection_and_session(pg_url: str) -> None:
    import sqlalchemy as sa
    from sqlalchemy.orm import Session

    from tests.conftest import _truncate

    _truncate(pg_url)
    app = Conveyor(pg_url)
    ship_order = _ship_job(app)
    engine = sa.create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        ship_order.using(conn).enqueue(1)
        conn.rollback()
        ship_order.using(conn).enqueue(2)
        conn.commit()
    with Session(engine) as session:
        ship_order.using(session).enqueue(3)
        session.commit()
        ship_order.using(session).enqueue(4)
        session.rollback()
    engine.dispose()
    assert sorted(job.args[0] for job in app.jobs()) == [2, 3]
    app.close()


@pytest.mark.postgres
def test_postgres_connection_to_another_database_is_refused(pg_url: str) -> None:
    import psycopg

    from tests.conftest import PG_ADMIN

    app = Conveyor(pg_url)
    ship_order = _ship_job(app)
    with psycopg.connect(PG_ADMIN) as other, \
            pytest.raises(ConfigurationError, match="this app keeps its jobs"):
        ship_order.using(other).enqueue(1)
    app.close()
