"""The floor on Conveyor's table: the raw floor's loops on `conveyor_jobs`.

The statements of `bench.floor` (one autocommitted INSERT a job, a bulk in one transaction,
workers completing and claiming in one transaction, PostgreSQL notifying in the insert), on
the table Conveyor's own migrations create. A job writes the columns a plain enqueue writes,
each bound as Conveyor binds it (name, queue, state, priority, args, kwargs, meta,
max_attempts, run_at, inserted_at, cost); a claim takes the best jobs of the queue through
the claim's index and marks them running as Conveyor's claim does (state, attempt,
attempted_at, attempted_by, cancel_requested_at); completing sets state, finalized_at and
result NULL, as settling does. The raw floor's lead over this is the table itself: its
width, CHECKs and indexes; this floor's lead over Conveyor is Conveyor's code.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg

from bench import databases
from bench.floor import pg, sqlite
from conveyor import Conveyor

COLUMNS = ("name, queue, state, priority, args, kwargs, meta, max_attempts, run_at, "
           "inserted_at, cost")
FETCH = "conveyor_jobs_fetch"
"""The claim's index, which every variant keeps: without it each claim sorts the table."""
LISTING = ("conveyor_jobs_state", "conveyor_jobs_queue", "conveyor_jobs_name",
           "conveyor_jobs_state_queue")
"""The operators' listing indexes."""


def _row(i: int, now: Any) -> tuple[Any, ...]:
    """The values of the i-th plain no-op job, inserted at `now`."""
    return ("noop", "default", "available", 0, orjson.dumps([i]).decode(), "{}", "{}", 20,
            now, now, 1)


def create(url: str, without: Sequence[str] = ()) -> None:
    """An empty `conveyor_jobs`, made by Conveyor's migrations, less the indexes `without`."""
    databases.reset(url)
    app = Conveyor(url)
    app.migrate()
    app.close()
    for index in without:
        _execute(url, f"DROP INDEX {index}")


def _execute(url: str, statement: str) -> list[Any]:
    if databases.is_sqlite(url):
        with contextlib.closing(sqlite3.connect(databases.sqlite_path(url))) as conn, conn:
            return conn.execute(statement).fetchall()
    with psycopg.connect(url, autocommit=True) as pg_conn:
        cur = pg_conn.execute(statement)
        return cur.fetchall() if cur.description else []


def secondary(url: str) -> list[str]:
    """Every index of `conveyor_jobs` but its primary key and the claim's (`FETCH`)."""
    if databases.is_sqlite(url):
        rows = _execute(url, "SELECT name FROM sqlite_master WHERE type = 'index' "
                             "AND tbl_name = 'conveyor_jobs' AND sql IS NOT NULL")
    else:
        rows = _execute(url, "SELECT indexname FROM pg_indexes WHERE tablename = "
                             "'conveyor_jobs' AND indexname <> 'conveyor_jobs_pkey'")
    return sorted(row[0] for row in rows if row[0] != FETCH)


class OnConveyorTable:
    """What both engines' table floors share: `conveyor_jobs` made by the migrations, dropped
    afterwards, and the jobs' span read as Conveyor's own figures read it."""

    @classmethod
    def setup(cls, url: str, without: Sequence[str] = ()) -> None:
        create(url, without)

    @classmethod
    def teardown(cls, url: str) -> None:
        """Drop Conveyor's tables: the suite's next measurements migrate an empty database."""
        databases.reset(url)

    @classmethod
    def span(cls, url: str) -> tuple[float, float, int]:
        return databases.span(url)


class SqliteTable(OnConveyorTable, sqlite.Floor):
    INSERT = f"INSERT INTO conveyor_jobs ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    COMPLETE = ("UPDATE conveyor_jobs SET state = 'completed', finalized_at = :now, "
                "result = NULL WHERE id IN (SELECT value FROM json_each(:done))")
    CLAIM = ("UPDATE conveyor_jobs SET state = 'running', attempt = attempt + 1, "
             "attempted_at = :now, attempted_by = :worker, cancel_requested_at = NULL "
             "WHERE id IN (SELECT id FROM conveyor_jobs WHERE state = 'available' "
             "AND queue = 'default' AND rate_key IS NULL ORDER BY priority, run_at, id "
             "LIMIT :claim) RETURNING id, args")

    @staticmethod
    def values(i: int) -> tuple[Any, ...]:
        return _row(i, int(time.time() * 1e6))

    @staticmethod
    def arguments(payload: Any) -> list[Any]:
        args: list[Any] = orjson.loads(payload)
        return args


class PgTable(OnConveyorTable, pg.Floor):
    CHANNEL = "conveyor_jobs"
    INSERT = (f"WITH job AS (INSERT INTO conveyor_jobs ({COLUMNS}) VALUES (%s, %s, %s, %s, "
              "%s::jsonb, %s::jsonb, %s::jsonb, %s, %s, %s, %s) RETURNING id) "
              "SELECT id, pg_notify('conveyor_jobs', 'default') FROM job")
    COPY = f"COPY conveyor_jobs ({COLUMNS}) FROM STDIN"
    SETTLE_AND_CLAIM = """
WITH done AS (
    UPDATE conveyor_jobs SET state = 'completed', finalized_at = clock_timestamp(), result = NULL
     WHERE id = ANY(%(done)s)
)
UPDATE conveyor_jobs SET state = 'running', attempt = attempt + 1,
       attempted_at = clock_timestamp(), attempted_by = %(worker)s, cancel_requested_at = NULL
 WHERE id IN (SELECT id FROM conveyor_jobs
               WHERE state = 'available' AND queue = 'default' AND rate_key IS NULL
               ORDER BY priority, run_at, id LIMIT %(claim)s FOR UPDATE SKIP LOCKED)
RETURNING id, args
"""

    @staticmethod
    def values(i: int) -> tuple[Any, ...]:
        return _row(i, datetime.now(UTC))

    @staticmethod
    def arguments(payload: Any) -> list[Any]:
        args: list[Any] = payload  # jsonb, decoded
        return args
