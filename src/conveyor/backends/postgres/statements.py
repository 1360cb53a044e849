"""Running named statements on a PostgreSQL connection (shared by the backend's modules)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import psycopg
from psycopg.rows import DictRow, dict_row

from conveyor.backends import sqlfile

Conn = psycopg.AsyncConnection[Any]
QUERIES = sqlfile.load("conveyor.backends.postgres")
T = TypeVar("T")


async def column(conn: Conn, name: str, params: Mapping[str, Any]) -> list[Any]:
    cur = await conn.execute(QUERIES[name], params)
    return [row[0] for row in await cur.fetchall()]


async def dict_rows(conn: Conn, name: str, params: Mapping[str, Any]) -> list[DictRow]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(QUERIES[name], params)
        return await cur.fetchall()
