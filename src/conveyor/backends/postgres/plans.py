"""Drive plans (`conveyor.backends.sql.plans`) on a psycopg connection, inside its
transaction: async (the backend's pool, a caller's async connection) and blocking
(transactional enqueue from sync code), over the same plans."""

from __future__ import annotations

from typing import Any, TypeVar

import psycopg
from psycopg.rows import DictRow, dict_row

from conveyor import orchestrate
from conveyor.backends import sqlfile
from conveyor.backends.postgres import inserts
from conveyor.backends.sql import plans as shared

QUERIES = sqlfile.load("conveyor.backends.postgres")
T = TypeVar("T")


async def adrive(conn: psycopg.AsyncConnection[Any], plan: shared.Steps[T]) -> T:
    """Run every step of `plan`, feeding each statement's rows (dicts) back to it."""
    async def execute(step: orchestrate.Query) -> list[DictRow]:
        async with conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(QUERIES[step.name], step.params)
            return await cur.fetchall()  # every statement a plan names returns rows

    return await shared.adrive(plan, execute, lambda step: inserts.awrite(conn, step))


def drive(conn: psycopg.Connection[Any], plan: shared.Steps[T]) -> T:
    """The same on a blocking connection."""
    def execute(step: orchestrate.Query) -> list[DictRow]:
        with conn.cursor(row_factory=dict_row) as cur:
            cur.execute(QUERIES[step.name], step.params)
            return cur.fetchall() if cur.description is not None else []

    return shared.drive(plan, execute, lambda step: inserts.write(conn, step))
