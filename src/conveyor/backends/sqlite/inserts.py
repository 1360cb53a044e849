"""Inserting jobs on a SQLite connection, inside whatever transaction it is in.

Used by the backend (inside its own `BEGIN IMMEDIATE`) and by transactional enqueue on a
caller's `sqlite3` connection, so that a rolled-back transaction leaves no job behind.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson

from conveyor import errors, model, orchestrate
from conveyor.backends import sqlfile
from conveyor.backends.sqlite import plans
from conveyor.backends.sqlite import rows as convert

QUERIES = sqlfile.load("conveyor.backends.sqlite")


def insert_jobs(conn: sqlite3.Connection, jobs: Sequence[model.NewJob],
                now: datetime) -> list[model.Inserted]:
    """Insert `jobs` in order. Plain jobs go in one `executemany` when the connection holds
    the write lock (ids are then contiguous); unique jobs, jobs with dependencies and
    autocommit connections row by row."""
    now_us = convert.to_micros(now)
    states = [job.initial_state(now) for job in jobs]
    rows = [(j.name, j.queue, s.value, j.priority, j.args_json, j.kwargs_json, j.meta_json,
             j.max_attempts, convert.to_micros(j.run_at), now_us, j.rate_keys_json, j.rate_key,
             j.concurrency_key, j.concurrency_limit, j.cost, j.batch_id, 0)
            for j, s in zip(jobs, states, strict=True)]
    _register_rate_keys(conn, jobs)
    if any(job.batch_id is not None for job in jobs):
        plans.drive(conn, orchestrate.grow_batches(jobs), insert_jobs)
    if any(job.has_dependencies for job in jobs):
        plan = orchestrate.insert_with_dependencies(
            jobs, now, lambda job, waiting_on: _dependant_row(job, waiting_on, now))
        return plans.drive(conn, plan, insert_jobs)
    if any(job.unique_key for job in jobs) or not conn.in_transaction:
        return [_insert_one(conn, job, row, now_us) for job, row in zip(jobs, rows, strict=True)]
    last = _insert_plain(conn, rows)
    first = last - len(rows) + 1
    return [model.Inserted(first + i, state) for i, state in enumerate(states)]


def insert_on(conn: Any, url: str, jobs: Sequence[model.NewJob], now: datetime, *,
              check_schema: bool = True) -> list[model.Inserted]:
    """Transactional enqueue on the caller's `sqlite3` connection to the app's file."""
    if not isinstance(conn, sqlite3.Connection):
        raise errors.ConfigurationError(
            f"this app keeps its jobs in SQLite; transactional enqueue needs a sqlite3 (or "
            f"SQLAlchemy) connection to its file, got {type(conn).__name__}")
    _same_file(conn, url)
    if check_schema:
        applied = None
        if conn.execute(QUERIES["has_migrations"]).fetchone() is not None:
            applied = {row[0] for row in conn.execute(QUERIES["applied_migrations"])}
        from conveyor.backends import transactional  # it opens this backend, too

        transactional.require_schema("conveyor.backends.sqlite", applied,
                                     "the SQLite database of this connection")
    return insert_jobs(conn, jobs, now)


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


def _register_rate_keys(conn: sqlite3.Connection, jobs: Sequence[model.NewJob]) -> None:
    pairs = [pair for job in jobs if job.rate_keys_json
             for pair in orjson.loads(job.rate_keys_json)]
    if pairs:
        conn.execute(QUERIES["register_rate_keys"], {"pairs": orjson.dumps(pairs).decode()})


def _dependant_row(job: model.NewJob, waiting_on: int, now: datetime) -> orchestrate.Query:
    """The statement inserting one job that waits for others (see `insert_with_dependencies`)."""
    return orchestrate.Query("insert_dependant", {
        "name": job.name, "queue": job.queue, "state": job.initial_state(now).value,
        "priority": job.priority, "args": job.args_json, "kwargs": job.kwargs_json,
        "meta": job.meta_json, "max_attempts": job.max_attempts,
        "run_at": convert.to_micros(job.run_at), "now": convert.to_micros(now),
        "rate_keys": job.rate_keys_json, "rate_key": job.rate_key,
        "concurrency_key": job.concurrency_key, "concurrency_limit": job.concurrency_limit,
        "cost": job.cost, "batch_id": job.batch_id, "waiting_on": waiting_on,
        "unique_key": job.unique_key, "unique_states": job.unique_states})


def _insert_plain(conn: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> int:
    """Insert rows without unique keys; returns the last id."""
    if len(rows) == 1:
        return conn.execute(QUERIES["insert_job"], rows[0]).lastrowid or 0
    conn.executemany(QUERIES["insert_job"], rows)
    # We hold the write lock and ids come from AUTOINCREMENT: they are contiguous.
    last: int = conn.execute("SELECT last_insert_rowid()").fetchone()[0]
    return last


def _insert_one(conn: sqlite3.Connection, job: model.NewJob, row: tuple[Any, ...],
                now_us: int) -> model.Inserted:
    """Insert one row that may be unique; a duplicate reports (and may update) the existing."""
    if job.unique_key is None:
        new_id = conn.execute(QUERIES["insert_job"], row).lastrowid or 0
        return model.Inserted(new_id, model.JobState(row[2]))
    got = conn.execute(QUERIES["insert_unique_job"],
                       (*row, job.unique_key, job.unique_states)).fetchone()
    if got is not None:
        return model.Inserted(got[0], model.JobState(row[2]))
    existing = conn.execute(QUERIES["find_unique"], {"key": job.unique_key}).fetchone()
    if existing is None:  # the conflict was with another constraint: surface it
        raise sqlite3.IntegrityError(f"job {job.name!r} could not be inserted")
    state = existing[1]
    if job.replace:
        replaced = conn.execute(QUERIES["replace_unique"], {
            "id": existing[0], "args": job.args_json, "kwargs": job.kwargs_json,
            "priority": job.priority, "run_at": row[8], "now": now_us}).fetchone()
        state = replaced[0] if replaced is not None else state
    return model.Inserted(existing[0], model.JobState(state), duplicate=True)
