"""Running named statements on a PostgreSQL connection (shared by the backend's modules)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import psycopg
from psycopg.rows import DictRow, dict_row

from conveyor.backends import sqlfile

Conn = psycopg.AsyncConnection[Any]
QUERIES = sqlfile.load("conveyor.backends.postgres")
T = TypeVar("T")


class BackendPart:
    """Base of `PostgresBackend`'s mixins: what they use of the backend, declared once."""

    if TYPE_CHECKING:
        async def _run(self, work: Callable[[Conn], Awaitable[T]], *,
                       atomic: bool = False) -> T: ...

        async def _column(self, name: str, params: Mapping[str, Any]) -> list[Any]: ...

        async def _rowcount(self, name: str, params: Mapping[str, Any]) -> int: ...

        def _notify(self) -> None: ...


async def column(conn: Conn, name: str, params: Mapping[str, Any]) -> list[Any]:
    cur = await conn.execute(QUERIES[name], params)
    return [row[0] for row in await cur.fetchall()]


async def dict_rows(conn: Conn, name: str, params: Mapping[str, Any]) -> list[DictRow]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(QUERIES[name], params)
        return await cur.fetchall()
