"""SQLite's part of inserting jobs: the bulk row write, and a caller's own connection.

What an insert decides is `conveyor.backends.sql.inserts`; here only how rows land: plain
jobs in one `executemany` when the connection holds the write lock (their ids are then
contiguous), unique jobs and autocommit connections row by row, a duplicate skipped by
`ON CONFLICT DO NOTHING` and the job that holds its key read right after it.
"""

from __future__ import annotations

import os
import sqlite3
from typing import Any, TypeVar

import orjson

from conveyor import errors, model
from conveyor.backends import sqlfile
from conveyor.backends.sql import inserts
from conveyor.backends.sql import plans as shared
from conveyor.backends.sqlite import rows as convert

QUERIES = sqlfile.load("conveyor.backends.sqlite")
T = TypeVar("T")


def write(conn: sqlite3.Connection, step: inserts.Write) -> inserts.Written:
    """`inserts.Write` on this connection, inside whatever transaction it is in."""
    now_us = convert.to_micros(step.now)
    rows = [(j.name, j.queue, s.value, j.priority, j.args_json, j.kwargs_json, j.meta_json,
             j.max_attempts, convert.to_micros(j.run_at), now_us, j.rate_keys_json, j.rate_key,
             j.concurrency_key, j.concurrency_limit, j.cost, j.batch_id, step.waiting_on)
            for j, s in zip(step.jobs, step.states, strict=True)]
    if len(rows) > 1 and conn.in_transaction and not any(j.unique_key for j in step.jobs):
        conn.executemany(QUERIES["insert_job"], rows)
        # We hold the write lock and ids come from AUTOINCREMENT: they are contiguous.
        last: int = conn.execute("SELECT last_insert_rowid()").fetchone()[0]
        return inserts.Written(range(last - len(rows) + 1, last + 1))
    ids: list[int | None] = []
    holders: dict[int, tuple[int, str]] = {}
    existing: dict[int, model.Job] = {}
    for k, (job, row) in enumerate(zip(step.jobs, rows, strict=True)):
        if job.unique_key is None:
            ids.append(conn.execute(QUERIES["insert_job"], row).lastrowid)
            continue
        got = conn.execute(QUERIES["insert_unique_job"],
                           (*row, job.unique_key, job.unique_states)).fetchone()
        ids.append(None if got is None else got[0])
        if got is None:  # read the holder now, as PostgreSQL's statement does: no plan step
            holder = conn.execute(QUERIES["find_unique"], {
                "keys": orjson.dumps([job.unique_key]).decode()}).fetchone()
            if holder is not None:
                holders[k] = (int(holder["id"]), str(holder["state"]))
                whole = conn.execute(QUERIES["get"], {"id": holders[k][0]}).fetchone()
                if whole is not None:  # what the caller returns for the duplicate
                    existing[k] = convert.job_from_row(whole)
    return inserts.Written(ids, holders, existing)




class Caller:
    """A caller's `sqlite3` connection to the app's file, for transactional enqueue."""

    where = "the SQLite database of this connection"

    def __init__(self, conn: Any, url: str) -> None:
        if not isinstance(conn, sqlite3.Connection):
            raise errors.ConfigurationError(
                f"this app keeps its jobs in SQLite; transactional enqueue needs a sqlite3 "
                f"(or SQLAlchemy) connection to its file, got {type(conn).__name__}")
        _same_file(conn, url)
        self.conn = conn

    def run(self, plan: shared.Steps[T]) -> T:
        from conveyor.backends.sqlite import plans  # which writes rows with this module

        return plans.drive(self.conn, plan)


def _same_file(conn: sqlite3.Connection, url: str) -> None:
    """Refuse a connection to another file: the jobs would land where no worker looks."""
    from conveyor.backends.sqlite.backend import path_of

    main = next((row[2] for row in conn.execute("PRAGMA database_list") if row[1] == "main"),
                "")
    expected = os.path.realpath(path_of(url))
    if not main or os.path.realpath(main) != expected:
        raise errors.ConfigurationError(
            f"the connection is to {main or 'an in-memory database'!r}, but this app keeps "
            f"its jobs in {expected!r}")
