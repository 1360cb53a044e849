"""SQLite plans of the claim's statements on a database that was never analyzed (every one).

Without statistics the planner once counted a concurrency key's running jobs through the
state index, that is every running job, for each keyed candidate. The claim reads the queue
through `conveyor_jobs_fetch` and counts through `conveyor_jobs_concurrency`, as checked here
on the statements' real plans.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from conveyor.backends import sqlfile
from conveyor.backends.sqlite.backend import SqliteBackend

QUERIES = sqlfile.load("conveyor.backends.sqlite")
PARAMS = {"queue": "default", "limit": 10, "now": 0, "worker": "w1", "names": None,
          "keys": '["k"]'}


def _plan(path: Path, name: str) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + QUERIES[name], PARAMS)]
    finally:
        conn.close()


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "plans.db"
    asyncio.run(SqliteBackend(f"sqlite:///{path}").migrate())
    return path


@pytest.mark.parametrize("statement", ["candidates", "claim_alone"])
def test_the_claim_reads_the_queue_by_the_fetch_index(database: Path, statement: str) -> None:
    plan = _plan(database, statement)
    assert any("USING INDEX conveyor_jobs_fetch (queue=?)" in step for step in plan), plan
    assert not any(step.startswith("SCAN conveyor_jobs") for step in plan), plan


@pytest.mark.parametrize("statement", ["candidates", "claim_alone", "running_counts"])
def test_running_jobs_are_counted_by_their_key(database: Path, statement: str) -> None:
    plan = _plan(database, statement)
    assert any("conveyor_jobs_concurrency (concurrency_key=?)" in step for step in plan), plan
    assert not any("conveyor_jobs_state (state=?)" in step for step in plan), plan
