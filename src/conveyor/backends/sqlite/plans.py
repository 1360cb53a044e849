"""Drive `conveyor.orchestrate` plans on a SQLite connection, inside its transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Generator, Sequence
from datetime import datetime
from typing import Any, TypeVar

import orjson

from conveyor import model, orchestrate
from conveyor.backends import sqlfile
from conveyor.backends.sqlite import rows as convert

QUERIES = sqlfile.load("conveyor.backends.sqlite")
Inserter = Callable[[sqlite3.Connection, Sequence[model.NewJob], datetime], Any]
T = TypeVar("T")


def drive(conn: sqlite3.Connection, plan: Generator[orchestrate.Step, Sequence[Any], T],
          insert: Inserter) -> T:
    """Run every step of `plan`, feeding each statement's rows back to it; return what the
    plan returns."""
    return orchestrate.run(
        plan, lambda step: insert(conn, step.jobs, step.now),
        lambda step: conn.execute(QUERIES[step.name], bind(step.params)).fetchall())


def bind(params: dict[str, Any]) -> dict[str, Any]:
    """Lists travel as JSON arrays, datetimes as integer microseconds."""
    return {key: orjson.dumps(value).decode() if isinstance(value, list)
            else convert.to_micros(value) if isinstance(value, datetime) else value
            for key, value in params.items()}


def after_final(conn: sqlite3.Connection, finals: list[orchestrate.Final], now: datetime,
                max_errors: int, touched_batches: Sequence[int] = ()) -> None:
    """Run `orchestrate.after_final` here: dependants and batches of jobs that just ended."""
    from conveyor.backends.sqlite import inserts  # which drives plans too

    if finals or touched_batches:
        plan = orchestrate.after_final(finals, now, max_errors, touched_batches)
        drive(conn, plan, inserts.insert_jobs)
