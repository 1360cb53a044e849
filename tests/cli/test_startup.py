"""Commands that cannot start - nothing at the database URL, tables missing or behind, a
database server down - say so in one `Error:` line, and read-only commands create nothing."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from conveyor import Conveyor
from tests.cli.harness import run_plain
from tests.conftest import raw

ROOT = Path(__file__).resolve().parents[2]
READ_ONLY = [["stats"], ["jobs", "list"], ["jobs", "show", "1"], ["failed"], ["cron"],
             ["limits"], ["batches"], ["batches", "show", "1"], ["monitor", "--max-wait", "5"]]


@pytest.mark.parametrize("args", READ_ONLY, ids=" ".join)
def test_read_only_commands_create_no_database_file_or_directory(tmp_path: Path,
                                                                  args: list[str]) -> None:
    target = tmp_path / "nonexistent_dir" / "x.db"
    result = run_plain("--url", f"sqlite:///{target}", *args)
    assert result.exit_code == 1, result.output
    assert f"Error: there is no SQLite database at '{target}'" in result.output
    assert "conveyor migrate" in result.output
    assert not target.parent.exists()


@pytest.mark.parametrize("args", READ_ONLY, ids=" ".join)
def test_read_only_commands_create_no_tables(tmp_path: Path, args: list[str]) -> None:
    target = tmp_path / "empty.db"
    sqlite3.connect(target).close()
    result = run_plain("--url", f"sqlite:///{target}", *args)
    assert result.exit_code == 1, result.output
    assert "has no Conveyor tables; create them with `conveyor migrate`" in result.output
    with sqlite3.connect(target) as conn:
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == []


def test_read_only_commands_report_missing_tables_on_postgresql(pg_url: str) -> None:
    empty = f"{pg_url}?options=-csearch_path%3Dconveyor_no_such_schema"
    result = run_plain("--url", empty, "stats")
    assert result.exit_code == 1
    assert "has no Conveyor tables" in result.output and "Traceback" not in result.output


def test_a_schema_behind_this_version_is_reported_not_upgraded(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    app = Conveyor(url)
    app.migrate()
    app.close()
    assert run_plain("--url", url, "jobs", "list").exit_code == 0
    (latest,) = raw(url, "SELECT max(version) FROM conveyor_migrations")[0]
    raw(url, "DELETE FROM conveyor_migrations WHERE version = ?", (latest,))
    result = run_plain("--url", url, "jobs", "list")
    assert result.exit_code == 1
    assert f"lacks Conveyor migration(s) {latest}; upgrade it with `conveyor migrate`" \
        in result.output
    assert raw(url, "SELECT count(*) FROM conveyor_migrations") == [(latest - 1,)]


def test_writing_commands_still_create_the_database(tmp_path: Path) -> None:
    target = tmp_path / "new_dir" / "x.db"
    result = run_plain("--url", f"sqlite:///{target}", "pause", "sync")
    assert result.exit_code == 0, result.output
    assert run_plain("--url", f"sqlite:///{target}", "limits").exit_code == 0


def _worker(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CONVEYOR_URL": url, "LEDGER": os.devnull, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "conveyor", "--app", "tests.worker.jobs_app:app",
                           "worker", "--burst", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)


@pytest.mark.parametrize("case", ["server down", "no database file", "no tables"])
def test_a_worker_that_cannot_start_prints_one_error_line(tmp_path: Path, case: str,
                                                          request: pytest.FixtureRequest) -> None:
    if case == "server down":
        done = _worker("postgresql://postgres@127.0.0.1:1/conveyor_nothing")
        expected = "Error: PostgreSQL at 127.0.0.1:1/conveyor_nothing is unavailable"
    elif case == "no database file":
        done = _worker(f"sqlite:///{tmp_path / 'none.db'}", "--no-migrate")
        expected = "Error: there is no SQLite database at"
        assert not (tmp_path / "none.db").exists()
    else:
        pg_url: str = request.getfixturevalue("pg_url")
        done = _worker(f"{pg_url}?options=-csearch_path%3Dconveyor_no_such_schema",
                       "--no-migrate")
        expected = "has no Conveyor tables"
    assert done.returncode == 1, done.stderr
    assert expected in done.stderr
    assert "Traceback" not in done.stderr
