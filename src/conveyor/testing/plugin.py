"""The pytest plugin (entry point `pytest11`): fixtures for testing code that uses Conveyor.

- `conveyor_url`: an empty, migrated database for the test: a SQLite file in its temporary
  directory; when `CONVEYOR_TEST_PG` names a PostgreSQL server, every test that uses it runs
  on both (ids `[sqlite]`, `[postgres]`), PostgreSQL in a database of the session's own,
  emptied before each test: Conveyor's tables, and yours that the `conveyor_tables` ini
  option names (SQL LIKE patterns, e.g. `shop_%`).
- `conveyor_clock`: a `FrozenClock` at `conveyor.testing.START`; tests move it forward.
- `conveyor_app`: your application (the `conveyor_app = module:attribute` ini option) pointed
  at `conveyor_url` and `conveyor_clock` for the test and put back afterwards; without the
  option, a new empty `Conveyor` to declare jobs on. Override the fixture to choose yours.
- `conveyor_harness`: `drain(until=...)`, `advance`, `assert_enqueued`, ... bound to it.

Every fixture name starts with `conveyor_`, so none shadows a fixture of your own.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from conveyor.app import Conveyor
from conveyor.clock import FrozenClock
from conveyor.testing import databases
from conveyor.testing.attach import attach
from conveyor.testing.harness import START, Harness

INI_APP = "conveyor_app"
INI_TABLES = "conveyor_tables"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(INI_APP, "MODULE:ATTRIBUTE of the Conveyor application that the "
                  "conveyor_app fixture points at each test's database and frozen clock "
                  "(default: a new, empty application)", default="")
    parser.addini(INI_TABLES, "SQL LIKE patterns of your own tables (in the jobs' database) "
                  "that conveyor_url empties before each test on PostgreSQL, as it empties "
                  "Conveyor's; tables named *_migrations keep their rows", type="linelist",
                  default=[])


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run tests that use a Conveyor database on PostgreSQL too when one is configured."""
    if "conveyor_backend" in metafunc.fixturenames and databases.postgres_admin():
        metafunc.parametrize("conveyor_backend", ["sqlite", "postgres"])


@pytest.fixture
def conveyor_backend() -> str:
    """`sqlite` or `postgres`: the engine behind `conveyor_url`."""
    return "sqlite"


@pytest.fixture(scope="session")
def conveyor_postgres() -> Iterator[databases.PostgresDatabase]:
    """This session's own PostgreSQL database on the `CONVEYOR_TEST_PG` server."""
    admin = databases.postgres_admin()
    if admin is None:
        pytest.skip(f"{databases.ENV} is not set")
    database = databases.PostgresDatabase(admin)
    try:
        database.create()
    except psycopg.OperationalError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL at {databases.ENV} is unreachable: {exc}")
        pytest.skip(f"PostgreSQL at {databases.ENV} is unreachable: {exc}")
    try:
        yield database
    finally:
        database.drop()


@pytest.fixture
def conveyor_url(request: pytest.FixtureRequest, conveyor_backend: str, tmp_path: Path) -> str:
    """An empty database with Conveyor's tables, for this test alone."""
    if conveyor_backend == "postgres":
        database: databases.PostgresDatabase = request.getfixturevalue("conveyor_postgres")
        return database.empty(also=request.config.getini(INI_TABLES))
    return databases.sqlite_url(tmp_path)


@pytest.fixture
def conveyor_clock() -> FrozenClock:
    """A frozen clock at `conveyor.testing.START`; `advance(seconds)` or `set(when)` it."""
    return FrozenClock(START)


@pytest.fixture
def conveyor_app(request: pytest.FixtureRequest, conveyor_url: str,
                 conveyor_clock: FrozenClock) -> Iterator[Conveyor]:
    """The application under test, on this test's database and frozen clock."""
    spec = str(request.config.getini(INI_APP) or "").strip()
    if not spec:
        app = Conveyor(conveyor_url, clock=conveyor_clock)
        try:
            yield app
        finally:
            app.close()
        return
    with attach(load(spec), conveyor_url, conveyor_clock) as attached:
        yield attached


@pytest.fixture
def conveyor_harness(conveyor_app: Conveyor) -> Harness:
    """`drain(until=...)`, `advance(seconds)`, `assert_enqueued(...)`, ... for `conveyor_app`."""
    if not isinstance(conveyor_app.clock, FrozenClock):
        raise pytest.UsageError(
            f"conveyor_harness needs conveyor_app on a FrozenClock; {conveyor_app!r} has a "
            f"{type(conveyor_app.clock).__name__} (attach it with the conveyor_clock fixture)")
    return Harness(conveyor_app, conveyor_app.clock)


def load(spec: str) -> Conveyor:
    """The application at `module:attribute` (the `conveyor_app` ini option)."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise pytest.UsageError(f"{INI_APP} = {spec!r} is not MODULE:ATTRIBUTE, e.g. shop.jobs:app")
    try:
        found = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise pytest.UsageError(f"{INI_APP} = {spec!r} cannot be loaded: {exc}") from None
    if not isinstance(found, Conveyor):
        raise pytest.UsageError(f"{INI_APP} = {spec!r} is a {type(found).__name__}, not a "
                                "Conveyor application")
    return found
