"""The pytest plugin as a user meets it: an inner pytest session (pytester) that loads it by
its entry point, with and without PostgreSQL, with and without the `conveyor_app` option."""

from __future__ import annotations

import os

import psycopg
import pytest

from tests.conftest import PG_ADMIN

INI = "[pytest]\nasyncio_default_fixture_loop_scope = function\n"
USER_TESTS = '''
from conveyor import JobState

def test_declare_enqueue_drain(conveyor_app, conveyor_harness, conveyor_backend):
    @conveyor_app.job(name="greet")
    def greet(name: str) -> str:
        return f"hi {name}"

    greet.options(delay=60).enqueue("ann")
    conveyor_harness.assert_enqueued(greet, args=("ann",), within=60)
    assert conveyor_harness.drain(until=59) == 0
    assert conveyor_harness.drain(until=1) == 1
    conveyor_harness.assert_not_enqueued(greet)
    assert [j.result for j in conveyor_harness.jobs([JobState.COMPLETED])] == ["hi ann"]
    assert conveyor_app.url.startswith(
        "sqlite" if conveyor_backend == "sqlite" else "postgresql")

def test_every_test_starts_empty(conveyor_harness):
    assert conveyor_harness.jobs() == []
    assert conveyor_harness.now().isoformat() == "2030-01-07T09:00:00+00:00"
'''


def test_fixtures_on_sqlite_alone(pytester: pytest.Pytester,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONVEYOR_TEST_PG", raising=False)
    pytester.makeini(INI)
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest("-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*test_declare_enqueue_drain PASSED*"])


@pytest.mark.postgres
def test_fixtures_on_both_backends_when_postgres_is_configured(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, pg_url: str) -> None:
    monkeypatch.setenv("CONVEYOR_TEST_PG", PG_ADMIN)
    before = _databases()
    pytester.makeini(INI)
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest("-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*test_declare_enqueue_drain?sqlite? PASSED*",
                                 "*test_declare_enqueue_drain?postgres? PASSED*"])
    assert _databases() == before  # the session's own database was dropped


YOUR_TABLES = '''
import psycopg
import pytest

def _counts(url):
    with psycopg.connect(url, autocommit=True) as conn:
        return [conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in ("shop_orders", "shop_migrations", "notes")]

def _write(url):
    with psycopg.connect(url, autocommit=True) as conn:
        for ddl in ("shop_orders (id serial PRIMARY KEY)", "shop_migrations (version int)",
                    "notes (body text)"):
            conn.execute(f"CREATE TABLE IF NOT EXISTS {ddl}")
        conn.execute("INSERT INTO shop_migrations VALUES (1)")
        conn.execute("INSERT INTO notes VALUES ('not named in the option')")
        return conn.execute("INSERT INTO shop_orders DEFAULT VALUES RETURNING id").fetchone()[0]

def test_1_writes(conveyor_url, conveyor_backend):
    if conveyor_backend == "sqlite":
        pytest.skip("a fresh file per test")
    assert _write(conveyor_url) == 1

def test_2_finds_the_named_tables_emptied(conveyor_url, conveyor_backend):
    if conveyor_backend == "sqlite":
        pytest.skip("a fresh file per test")
    assert _counts(conveyor_url) == [0, 1, 1]  # migration records and other tables stay
    assert _write(conveyor_url) == 1  # ids start again
'''


@pytest.mark.postgres
def test_tables_named_in_the_ini_option_are_emptied_before_each_postgres_test(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, pg_url: str) -> None:
    monkeypatch.setenv("CONVEYOR_TEST_PG", PG_ADMIN)
    pytester.makeini(INI + "conveyor_tables = shop_%\n")
    pytester.makepyfile(test_yours=YOUR_TABLES)
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:randomly", "-v")
    result.assert_outcomes(passed=2, skipped=2)
    result.stdout.fnmatch_lines(["*test_2_finds_the_named_tables_emptied?postgres? PASSED*"])


def test_the_ini_option_attaches_your_app_and_puts_it_back(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONVEYOR_TEST_PG", raising=False)
    pytester.makepyfile(shopjobs='''
from conveyor import Conveyor

app = Conveyor("sqlite:///never-used.db")

@app.job(name="ship")
def ship(order_id: int) -> None: ...
''')
    pytester.makeini(INI + "conveyor_app = shopjobs:app\n")
    pytester.makepyfile(test_shop='''
import shopjobs
from conveyor import FrozenClock
from conveyor.testing import assert_enqueued

def test_the_app_is_attached(conveyor_app, tmp_path):
    assert conveyor_app is shopjobs.app
    assert conveyor_app.url == f"sqlite:///{tmp_path / 'conveyor.db'}"
    assert isinstance(conveyor_app.clock, FrozenClock)
    shopjobs.ship.enqueue(1)
    assert_enqueued(shopjobs.ship, args=[1])

def test_and_put_back_after_the_test():
    assert shopjobs.app.url == "sqlite:///never-used.db"
    assert not isinstance(shopjobs.app.clock, FrozenClock)
''')
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(passed=2)
    assert not (pytester.path / "never-used.db").exists()


def test_a_bad_ini_option_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI + "conveyor_app = nowhere\n")
    pytester.makepyfile(test_x="def test_x(conveyor_app):\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*conveyor_app = 'nowhere' is not MODULE:ATTRIBUTE*"])


def _databases() -> set[str]:
    """This process's test databases (other runs on the server come and go meanwhile)."""
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        return {row[0] for row in conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s",
            (f"conveyor_test_{os.getpid()}_%",))}
