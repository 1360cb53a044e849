"""Drive plans (`conveyor.backends.sql.plans`) on a SQLite connection, inside its
transaction: statements bound the SQLite way, rows readable by column name."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

import orjson

from conveyor.backends import sqlfile
from conveyor.backends.sql import plans as shared
from conveyor.backends.sqlite import inserts
from conveyor.backends.sqlite import rows as convert

QUERIES = sqlfile.load("conveyor.backends.sqlite")
T = TypeVar("T")


def drive(conn: sqlite3.Connection, plan: shared.Steps[T]) -> T:
    """Run every step of `plan`, feeding each statement's rows back to it; return what the
    plan returns."""
    return shared.drive(plan, lambda step: rows(conn, step.name, step.params),
                        lambda step: inserts.write(conn, step))


def rows(conn: sqlite3.Connection, name: str, params: dict[str, Any]) -> list[sqlite3.Row]:
    """Statement `name`'s rows, by column name whatever the connection's row factory (a
    caller's own connection may have none)."""
    cur = conn.cursor()
    if conn.row_factory is not sqlite3.Row:
        cur.row_factory = sqlite3.Row
    result: list[sqlite3.Row] = cur.execute(QUERIES[name], bind(params)).fetchall()
    return result


def bind(params: dict[str, Any]) -> dict[str, Any]:
    """Lists travel as JSON arrays, datetimes (alone or in a list) as integer microseconds."""
    return {key: _json(value) if isinstance(value, list)
            else convert.to_micros(value) if isinstance(value, datetime) else value
            for key, value in params.items()}


def _json(values: Sequence[Any]) -> str:
    if values and isinstance(values[0], datetime):
        values = [convert.to_micros(value) for value in values]
    return orjson.dumps(values).decode()
