"""Fixtures shared by every suite: real SQLite files and a real PostgreSQL database.

PostgreSQL: each test run creates its own database (so runs never collide) and drops it at the
end; tables are emptied before each test. Without a server the PostgreSQL cases are skipped,
except under CI=true, where they fail instead.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from conveyor import Conveyor, FrozenClock, Settings
from conveyor.backends import base

pytest_plugins = ["pytester"]  # tests/testing runs the conveyor plugin in inner sessions

PG_ADMIN = os.environ.get("CONVEYOR_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
FAST = Settings(heartbeat_interval=0.2, lease_timeout=2.0, rescue_interval=0.5,
                stage_interval=0.1)


def _pg_url(dbname: str) -> str:
    params = conninfo_to_dict(PG_ADMIN)
    params["dbname"] = dbname
    user, host = params.get("user", "postgres"), params.get("host", "127.0.0.1")
    return f"postgresql://{user}@{host}:{params.get('port', 5432)}/{dbname}"


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A database of this run's own, migrated once."""
    try:
        admin = psycopg.connect(make_conninfo(PG_ADMIN, connect_timeout=5), autocommit=True)
    except psycopg.OperationalError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI=true and is unreachable: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    name = f"conveyor_test_{os.getpid()}_{secrets.token_hex(4)}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        url = _pg_url(name)
        asyncio.run(_migrate(url))
        try:
            yield url
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _migrate(url: str) -> None:
    backend = base.open_backend(url)
    try:
        await backend.migrate()
    finally:
        await backend.close()


def _truncate(url: str) -> None:
    """Empty every Conveyor table but the migrations record (whatever migrations added)."""
    with psycopg.connect(url, autocommit=True) as conn:
        tables = [row[0] for row in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
            "AND tablename LIKE 'conveyor%%' AND tablename <> 'conveyor_migrations'")]
        conn.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY")


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A storage URL with empty, migrated tables, for each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'jobs.db'}"
    pg: str = request.getfixturevalue("pg_url")
    _truncate(pg)
    return pg


@pytest.fixture
async def backend(url: str) -> AsyncIterator[base.Backend]:
    store = base.open_backend(url)
    await store.migrate()
    yield store
    await store.close()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def app(url: str, clock: FrozenClock) -> Iterator[Conveyor]:
    conveyor = Conveyor(url, clock=clock)
    yield conveyor
    conveyor.close()


def raw(url: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run SQL directly against the database behind `url` (crash and corruption setups).
    Placeholders: write `?`; they are converted for PostgreSQL."""
    if url.startswith("sqlite"):
        import sqlite3

        from conveyor.backends.sqlite.backend import path_of

        with sqlite3.connect(path_of(url), isolation_level=None) as conn:
            conn.execute("PRAGMA busy_timeout = 5000")
            return list(conn.execute(sql, params).fetchall())
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(sql.replace("?", "%s"), params)  # type: ignore[call-overload]
        return list(cur.fetchall()) if cur.description else []


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The chaos scenarios run last: they measure timings and throughput, and by then the
    write-back of the fresh install no longer competes with them for the disk."""
    items.sort(key=lambda item: "tests/chaos/" in item.nodeid.replace("\\", "/"))
