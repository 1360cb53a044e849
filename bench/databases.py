"""Databases for the benchmarks: a throw-away one per backend, emptying it, raw reads.

SQLite gets a file in a temporary directory; PostgreSQL a fresh database on the server
(created here, dropped at the end). `span` reads a run's rate back from the jobs table, and
`fill_finished` and `fill_available` insert many jobs with one raw statement.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict

PG_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def sqlite_path(url: str) -> str:
    from conveyor.backends.sqlite.backend import path_of

    return path_of(url)


@contextlib.contextmanager
def temporary(backend: str, server: str = PG_SERVER) -> Iterator[str]:
    """The URL of an empty database for `backend` ("sqlite" or "postgres"), gone afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="conveyor-bench-") as folder:
            yield f"sqlite:///{folder}/bench.db"
        return
    name = f"conveyor_bench_{os.getpid()}_{int(time.time())}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_dbname(server, name)
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _with_dbname(url: str, name: str) -> str:
    params = conninfo_to_dict(url)
    user = params.get("user", "postgres")
    host = params.get("host", "127.0.0.1")
    port = params.get("port", "5432")
    return f"postgresql://{user}@{host}:{port}/{name}"


def reset(url: str) -> None:
    """Drop every Conveyor table (or the SQLite file): the next app migrates from scratch."""
    if is_sqlite(url):
        for suffix in ("", "-wal", "-shm"):
            Path(sqlite_path(url) + suffix).unlink(missing_ok=True)
        return
    with psycopg.connect(url, autocommit=True) as conn:
        tables = [row[0] for row in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
            "AND tablename LIKE 'conveyor\\_%'")]
        for table in tables:  # every Conveyor table, whatever the migrations added
            conn.execute(f'DROP TABLE IF EXISTS "{table}" CASCADE')


def max_id(url: str, table: str = "conveyor_jobs") -> int:
    if is_sqlite(url):
        with contextlib.closing(sqlite3.connect(sqlite_path(url))) as conn:
            return int(conn.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0])
    with psycopg.connect(url) as pg:
        row = pg.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()
        assert row is not None
        return int(row[0])


def span(url: str, after_id: int = 0, since: float = 0.0) -> tuple[float, float, int]:
    """First start, last finish (epoch seconds) and count of the completed jobs past
    `after_id` that started at `since` (epoch seconds) or later."""
    if is_sqlite(url):
        with contextlib.closing(sqlite3.connect(sqlite_path(url))) as conn:
            lo, hi, count = conn.execute(
                "SELECT min(attempted_at), max(finalized_at), count(*) FROM conveyor_jobs "
                "WHERE state = 'completed' AND id > ? AND attempted_at >= ?",
                (after_id, int(since * 1e6))).fetchone()
        return (lo or 0) / 1e6, (hi or 0) / 1e6, int(count)
    with psycopg.connect(url) as pg:
        row = pg.execute(
            "SELECT extract(epoch FROM min(attempted_at)), extract(epoch FROM max(finalized_at)),"
            " count(*) FROM conveyor_jobs WHERE state = 'completed' AND id > %s"
            " AND attempted_at >= to_timestamp(%s)", (after_id, since)).fetchone()
        assert row is not None
        return float(row[0] or 0), float(row[1] or 0), int(row[2])


def fill_finished(url: str, count: int) -> None:
    """Insert `count` completed no-op jobs, finished minutes ago (well inside retention, so
    the leader does not prune them during the run), in one statement; then settle the
    database as it would be after a day of such jobs: SQLite checkpoints its WAL (else the
    workers would copy the whole insert into the file during the timed run), PostgreSQL
    vacuums and analyzes as autovacuum would, and checkpoints."""
    fill(url, count, finished=True)


def fill_available(url: str, count: int) -> None:
    """Insert `count` no-op jobs available since minutes ago (a deep backlog), settled as
    `fill_finished` leaves its rows."""
    fill(url, count, finished=False)


_SQLITE_FILL = """
WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < :count)
INSERT INTO conveyor_jobs (name, queue, state, args, attempt, max_attempts, run_at,
                           inserted_at, attempted_at, finalized_at, attempted_by, result)
SELECT 'noop', 'default', :state, '[' || n || ']', :attempt, 20, :now - 600000000,
       :now - 600000000, :now - 599000000 + :unset, :now - 598000000 + :unset,
       CASE WHEN :attempt > 0 THEN 'prefill' END, CASE WHEN :attempt > 0 THEN 'null' END
  FROM g"""
_PG_FILL = """
INSERT INTO conveyor_jobs (name, queue, state, args, attempt, max_attempts, run_at,
                           inserted_at, attempted_at, finalized_at, attempted_by, result)
SELECT 'noop', 'default', %(state)s, jsonb_build_array(g), %(attempt)s, 20,
       now() - interval '10 min', now() - interval '10 min',
       CASE WHEN %(attempt)s > 0 THEN now() - interval '599 s' END,
       CASE WHEN %(attempt)s > 0 THEN now() - interval '598 s' END,
       CASE WHEN %(attempt)s > 0 THEN 'prefill' END,
       CASE WHEN %(attempt)s > 0 THEN 'null'::jsonb END
  FROM generate_series(1, %(count)s) AS g"""


def fill(url: str, count: int, *, finished: bool) -> None:
    """`count` no-op jobs in one statement, completed (`finished`) or available."""
    params = {"count": count, "state": "completed" if finished else "available",
              "attempt": 1 if finished else 0}
    if is_sqlite(url):
        now = int(time.time() * 1e6)
        with contextlib.closing(sqlite3.connect(sqlite_path(url))) as conn, conn:
            # NULL + anything is NULL: the times of attempt and finish only when finished
            conn.execute(_SQLITE_FILL, {**params, "now": now, "unset": 0 if finished else None})
        with contextlib.closing(sqlite3.connect(sqlite_path(url))) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return
    with psycopg.connect(url, autocommit=True) as pg:
        pg.execute(_PG_FILL, params)
        pg.execute("VACUUM ANALYZE conveyor_jobs")
        # The fill's gigabytes of WAL would otherwise be checkpointed during the timed run.
        pg.execute("CHECKPOINT")
