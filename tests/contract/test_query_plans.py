"""PostgreSQL plans of the worker's hot statements on a table the planner knows nothing about.

A freshly migrated database (every new deployment, every test run) has no statistics until
autovacuum analyzes it. Left alone, the planner then settled each flush of outcomes with a
sequential scan of the jobs table: 4,000-5,000 no-op jobs/s instead of 24,000-28,000 on 20,000
jobs (`python -m bench.throughput`). The backend's connections rule sequential scans out for
as long as an index can answer, which this test checks on the statements' real plans.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import psycopg
import pytest

from conveyor.backends import sqlfile, urls
from conveyor.backends.postgres.backend import configure_connection

pytestmark = pytest.mark.postgres
QUERIES = sqlfile.load("conveyor.backends.postgres")
NOW = datetime(2026, 1, 1, tzinfo=UTC)
RUNNING = list(range(1, 201))


@pytest.fixture
async def fresh(pg_url: str) -> AsyncIterator[psycopg.AsyncConnection[tuple[object, ...]]]:
    """A connection configured as the backend's, to a migrated schema of its own holding
    5,000 jobs (200 running) that was never analyzed."""
    schema = f"p{secrets.token_hex(4)}"
    url = f"{pg_url}?options=-csearch_path%3D{schema}"
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        backend = urls.open_backend(url)
        await backend.migrate()
        await backend.close()
        conn = await psycopg.AsyncConnection.connect(url, autocommit=True)
        await configure_connection(conn)
        await conn.execute(
            "INSERT INTO conveyor_jobs (name, queue, state, attempt, run_at, inserted_at)"
            " SELECT 'noop', 'default', CASE WHEN i <= 200 THEN 'running' ELSE 'available'"
            " END, CASE WHEN i <= 200 THEN 1 ELSE 0 END, %(now)s, %(now)s"
            " FROM generate_series(1, 5000) AS i", {"now": NOW})
        yield conn
        await conn.close()
    finally:
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


async def plan(conn: psycopg.AsyncConnection[tuple[object, ...]], sql: str,
               params: dict[str, object]) -> str:
    cur = await conn.execute("EXPLAIN " + sql, params)
    return "\n".join(str(row[0]) for row in await cur.fetchall())


@pytest.mark.parametrize("statement", ["complete", "fail", "snooze", "cancel_running"])
async def test_settling_looks_jobs_up_by_primary_key(fresh: psycopg.AsyncConnection[
        tuple[object, ...]], statement: str) -> None:
    sql = sqlfile.compose(QUERIES, statement, ["alone"])
    found = await plan(fresh, sql, {
        "ids": RUNNING, "attempts": [1] * 200, "bodies": ["null"] * 200,
        "run_ats": [NOW] * 200, "now": NOW, "max_errors": 10})
    assert "Seq Scan on conveyor_jobs" not in found, found
    assert "conveyor_jobs_pkey" in found, found


async def test_starting_and_claiming_use_indexes(fresh: psycopg.AsyncConnection[
        tuple[object, ...]]) -> None:
    start = await plan(fresh, QUERIES["start"], {"ids": [201, 202], "now": NOW, "worker": "w"})
    claim = await plan(fresh, QUERIES["candidates"], {"queue": "default", "limit": 200,
                                                      "now": NOW, "names": None})
    for found in (start, claim):
        assert "Seq Scan on conveyor_jobs" not in found, found
