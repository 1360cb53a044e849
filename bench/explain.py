"""The plan of the claim's candidate statement, as each engine would run it now.

PostgreSQL: `EXPLAIN (ANALYZE, BUFFERS)` in a transaction that is rolled back (the statement
locks rows `FOR UPDATE SKIP LOCKED`). SQLite: `EXPLAIN QUERY PLAN` and the time one run of
the statement takes. The statement is read from the engine's `queries.sql`, so the plan shown
is the one of the code under test.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from datetime import UTC, datetime

import psycopg

from bench import databases
from conveyor.backends import sqlfile

STATEMENT = "candidates"


def claim_plan(url: str, queue: str = "default", limit: int = 200) -> str:
    """The plan of the claim's candidates on `queue`, as text."""
    if databases.is_sqlite(url):
        return _sqlite(url, queue, limit)
    sql = sqlfile.load("conveyor.backends.postgres").get(STATEMENT)
    if sql is None:
        return f"no statement named {STATEMENT!r} in the PostgreSQL queries"
    params = {"queue": queue, "limit": limit, "now": datetime.now(UTC), "names": None}
    with psycopg.connect(url) as conn:
        rows = conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params).fetchall()
        conn.rollback()
    return "\n".join(str(row[0]) for row in rows)


def _sqlite(url: str, queue: str, limit: int) -> str:
    sql = sqlfile.load("conveyor.backends.sqlite").get(STATEMENT)
    if sql is None:
        return f"no statement named {STATEMENT!r} in the SQLite queries"
    params = {"queue": queue, "limit": limit, "now": int(time.time() * 1e6), "names": None}
    with contextlib.closing(sqlite3.connect(databases.sqlite_path(url))) as conn:
        depth: dict[int, int] = {0: 0}
        lines = []
        for node, parent, _, detail in conn.execute("EXPLAIN QUERY PLAN " + sql, params):
            depth[node] = depth.get(parent, 0) + 1
            lines.append("  " * depth[node] + detail)
        began = time.perf_counter()
        found = len(conn.execute(sql, params).fetchall())
        lines.append(f"{found} rows in {(time.perf_counter() - began) * 1000:.2f} ms")
    return "\n".join(lines)
