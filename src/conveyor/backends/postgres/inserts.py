"""PostgreSQL's part of inserting jobs: the bulk row write, and a caller's own connection.

What an insert decides is `conveyor.backends.sql.inserts`; here only how rows land. Several
jobs travel as binary typed arrays read with `unnest` (one statement for any number, ids
handed out in input order); one job as a plain row, which plans far cheaper. A duplicate of
a unique job is skipped and the job holding its key read back in the same statement, so
reporting it costs no second round trip.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

import psycopg
from psycopg import pq
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row

from conveyor import errors, model
from conveyor.backends import sqlfile
from conveyor.backends.postgres import rows as convert
from conveyor.backends.sql import inserts
from conveyor.backends.sql import plans as shared

QUERIES = sqlfile.load("conveyor.backends.postgres")
T = TypeVar("T")
AVAILABLE = model.JobState.AVAILABLE


def statement(step: inserts.Write) -> tuple[str, dict[str, Any]]:
    """The statement writing `step`'s rows, and its parameters: columns for several rows,
    one row's values for one."""
    jobs, states, now = step.jobs, step.states, step.now
    if len(jobs) == 1:
        job = jobs[0]
        return "insert_unique_one" if job.unique_key else "insert_one", {
            "name": job.name, "queue": job.queue, "state": states[0].value,
            "priority": job.priority, "args": job.args_json, "kwargs": job.kwargs_json,
            "meta": job.meta_json, "max_attempts": job.max_attempts, "run_at": job.run_at,
            "now": now, "unique_key": job.unique_key, "unique_states": job.unique_states,
            "rate_keys": job.rate_keys_json, "rate_key": job.rate_key,
            "concurrency_key": job.concurrency_key, "concurrency_limit": job.concurrency_limit,
            "cost": job.cost, "batch_id": job.batch_id, "waiting_on": step.waiting_on}
    if step.waiting_on:
        raise ValueError("jobs that wait on others are written one at a time")
    return "insert_jobs", {
        "names": [j.name for j in jobs], "queues": [j.queue for j in jobs],
        "states": [s.value for s in states], "priorities": [j.priority for j in jobs],
        "args": [j.args_json for j in jobs], "kwargs": [j.kwargs_json for j in jobs],
        "metas": [j.meta_json for j in jobs], "max_attempts": [j.max_attempts for j in jobs],
        "run_ats": [j.run_at for j in jobs], "unique_keys": [j.unique_key for j in jobs],
        "unique_states": [j.unique_states for j in jobs], "now": now,
        "rate_keys": [j.rate_keys_json for j in jobs], "rate_key": [j.rate_key for j in jobs],
        "concurrency_keys": [j.concurrency_key for j in jobs],
        "concurrency_limits": [j.concurrency_limit for j in jobs],
        "costs": [j.cost for j in jobs], "batch_ids": [j.batch_id for j in jobs],
        "wake": sorted({j.queue for j, s in zip(jobs, states, strict=True) if s is AVAILABLE}),
    }


def written(step: inserts.Write, rows: Sequence[dict[str, Any]]) -> inserts.Written:
    """What the statement returned: per input row, its id or the job holding its key (for
    one unique job, that whole job)."""
    if len(step.jobs) == 1:
        if not rows:  # a plain job's conflict (a unique key's, but no unique states)
            return inserts.Written([None])
        if step.jobs[0].unique_key:  # insert_unique_one: one row, new or the holder
            row = rows[0]
            if row["new_id"] is not None or row["id"] is None:  # new, or no holder left
                return inserts.Written([row["new_id"]])
            return inserts.Written([None], {0: (row["id"], row["state"])},
                                   {0: convert.job_from_row(row)})
    return inserts.Written([row["id"] for row in rows], {
        k: (row["existing_id"], row["existing_state"]) for k, row in enumerate(rows)
        if row.get("existing_id") is not None})


async def awrite(conn: psycopg.AsyncConnection[Any], step: inserts.Write) -> inserts.Written:
    """`inserts.Write` on an async connection, inside whatever transaction it is in."""
    name, params = statement(step)
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(QUERIES[name], params)
        return written(step, await cur.fetchall())


def write(conn: psycopg.Connection[Any], step: inserts.Write) -> inserts.Written:
    """The same on a blocking connection."""
    name, params = statement(step)
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(QUERIES[name], params)
        return written(step, cur.fetchall())



class Caller:
    """A caller's blocking psycopg connection to the app's database (transactional
    enqueue)."""

    def __init__(self, conn: Any, url: str) -> None:
        if not isinstance(conn, psycopg.Connection):
            raise errors.ConfigurationError(
                f"transactional enqueue needs a sqlite3, psycopg or SQLAlchemy connection, "
                f"got {type(conn).__name__}")
        self.where = _usable(conn.info, url)
        self.conn = conn

    def run(self, plan: shared.Steps[T]) -> T:
        from conveyor.backends.postgres import plans  # which writes rows with this module

        return plans.drive(self.conn, plan)


class AsyncCaller:
    """A caller's async psycopg connection to the app's database."""

    def __init__(self, conn: Any, url: str) -> None:
        if not isinstance(conn, psycopg.AsyncConnection):
            raise errors.ConfigurationError(
                f"transactional enqueue needs a psycopg or SQLAlchemy connection, "
                f"got {type(conn).__name__}")
        self.where = _usable(conn.info, url)
        self.conn = conn

    async def run(self, plan: shared.Steps[T]) -> T:
        from conveyor.backends.postgres import plans

        return await plans.adrive(self.conn, plan)


def _usable(info: Any, url: str) -> str:
    """Same database as the app, and a transaction that can still run statements; the
    database as messages name it."""
    expected = conninfo_to_dict(url).get("dbname")
    if expected and info.dbname != expected:
        raise errors.ConfigurationError(
            f"the connection is to database {info.dbname!r}, but this app keeps its jobs in "
            f"{expected!r}")
    if info.transaction_status == pq.TransactionStatus.INERROR:
        raise errors.ConfigurationError(
            "the connection's transaction has already failed (a statement in it raised); "
            "roll it back before enqueueing on it")
    return f"the PostgreSQL database {info.dbname!r} of this connection"
