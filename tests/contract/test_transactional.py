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
