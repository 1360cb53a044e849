"""Drive `conveyor.orchestrate` plans on a psycopg connection, inside its transaction.

Two thin drivers, async (the backend's pool) and blocking (transactional enqueue from sync
code), over one plan, so the two paths cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator, Sequence
from datetime import datetime
from typing import Any, TypeVar

import psycopg
from psycopg.rows import dict_row

from conveyor import model, orchestrate
from conveyor.backends import sqlfile

QUERIES = sqlfile.load("conveyor.backends.postgres")
T = TypeVar("T")
AsyncInserter = Callable[[psycopg.AsyncConnection[Any], Sequence[model.NewJob], datetime],
                         Awaitable[Any]]
Inserter = Callable[[psycopg.Connection[Any], Sequence[model.NewJob], datetime], Any]
Steps = Generator[orchestrate.Step, Sequence[Any], T]


async def adrive(conn: psycopg.AsyncConnection[Any], plan: Steps[T],
                 insert: AsyncInserter) -> T:
    """Run every step of `plan`, feeding each statement's rows (dicts) back to it."""
    try:
        step = next(plan)
        while True:
            if isinstance(step, orchestrate.Insert):
                await insert(conn, step.jobs, step.now)
                step = plan.send([])
                continue
            async with conn.cursor(row_factory=dict_row) as cur:
                await cur.execute(QUERIES[step.name], step.params)
                rows = await cur.fetchall()  # every statement a plan names returns rows
            step = plan.send(rows)
    except StopIteration as done:
        result: T = done.value
        return result


def drive(conn: psycopg.Connection[Any], plan: Steps[T], insert: Inserter) -> T:
    """The same on a blocking connection."""
    def execute(step: orchestrate.Query) -> list[dict[str, Any]]:
        with conn.cursor(row_factory=dict_row) as cur:
            cur.execute(QUERIES[step.name], step.params)
            return cur.fetchall() if cur.description is not None else []

    return orchestrate.run(plan, lambda step: insert(conn, step.jobs, step.now), execute)


async def after_final(conn: psycopg.AsyncConnection[Any], finals: list[orchestrate.Final],
                      now: datetime, max_errors: int,
                      touched_batches: Sequence[int] = ()) -> None:
    """Run `orchestrate.after_final` here: dependants and batches of jobs that just ended."""
    from conveyor.backends.postgres import inserts  # which drives plans too

    if finals or touched_batches:
        plan = orchestrate.after_final(finals, now, max_errors, touched_batches)
        await adrive(conn, plan, inserts.insert_jobs)
