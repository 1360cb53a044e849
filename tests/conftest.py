"""Fixtures shared by every suite: real SQLite files and a real PostgreSQL database.

PostgreSQL: each test process creates its own database (so runs, and the parallel worker
processes of one run, never collide) and drops it at the end; tables are emptied before each
test. The database is named after the run and the worker process (`conveyor_test_<run>_gw0_<pid>`,
`..._main_<pid>` without workers); at the end of a parallel run the controller drops any that a
crashed worker left. Without a server the PostgreSQL cases are skipped, except under CI=true,
where they fail instead.
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
from conveyor.backends import base, urls

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


def pytest_configure(config: pytest.Config) -> None:
    """Give a parallel run (pytest-xdist's controller) its id before it starts the workers,
    so that it knows their databases' names at the end; each worker reads it from its
    environment."""
    if not hasattr(config, "workerinput") and getattr(config.option, "testrunuid", 0) is None:
        config.option.testrunuid = secrets.token_hex(6)


def _database_prefix() -> str:
    """`conveyor_test_<run>_`: the names of this run's databases, one per worker process."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID") or _LONE_RUN
    return f"conveyor_test_{run[:12]}_"


_LONE_RUN = secrets.token_hex(6)
"""The run's id without pytest-xdist (or in its controller, which runs no test)."""


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A database of this run's own (of this worker's, in a parallel run), migrated once."""
    try:
        admin = psycopg.connect(make_conninfo(PG_ADMIN, connect_timeout=5), autocommit=True)
    except psycopg.OperationalError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI=true and is unreachable: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    name = f"{_database_prefix()}{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{os.getpid()}"
    with admin:  # closed meanwhile: four workers' idle admin connections add up
        admin.execute(f'CREATE DATABASE "{name}"')
    url = _pg_url(name)
    try:
        asyncio.run(_migrate(url))
        yield url
    finally:
        with psycopg.connect(make_conninfo(PG_ADMIN, connect_timeout=5),
                             autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The controller of a parallel run drops what a crashed worker could not: every database
    of this run still there (a worker drops its own when it ends)."""
    config = session.config
    run = getattr(config.option, "testrunuid", None)
    if hasattr(config, "workerinput") or not run or config.getoption("numprocesses", None) in (
            None, 0):
        return
    try:
        with psycopg.connect(make_conninfo(PG_ADMIN, connect_timeout=5),
                             autocommit=True) as admin:
            left = [row[0] for row in admin.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s",
                (f"conveyor\\_test\\_{run[:12]}\\_%",))]
            for name in left:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except psycopg.OperationalError:
        pass  # no server: no database was made


async def _migrate(url: str) -> None:
    backend = urls.open_backend(url)
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
    store = urls.open_backend(url)
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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The chaos scenarios run last: they measure timings and throughput, and by then the
    write-back of the fresh install no longer competes with them for the disk.

    In a parallel run (pytest-xdist, `--dist loadgroup`: the default options), tests that
    share a group run one after another in one worker process; groups of many tests are
    handed out first, so the longest lanes start at once. Grouped: the chaos scenarios (each
    runs several worker processes and judges timings or throughput: never two at a time), and
    each module that drives chromium (one browser per module, as without xdist)."""
    items.sort(key=lambda item: "tests/chaos/" in item.nodeid.replace("\\", "/"))
    if not config.pluginmanager.hasplugin("xdist"):
        return
    for item in items:
        group = _parallel_group(item)
        if group:
            item.add_marker(pytest.mark.xdist_group(group))


def _parallel_group(item: pytest.Item) -> str | None:
    path = item.nodeid.replace("\\", "/").split("::", 1)[0]
    if path.startswith("tests/chaos/"):
        return "chaos"
    if "browser" in getattr(item, "fixturenames", ()):
        return f"browser:{path}"
    return None
