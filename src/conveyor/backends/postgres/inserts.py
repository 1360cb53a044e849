"""PostgreSQL's part of inserting jobs: the bulk row write, and a caller's own connection.

What an insert decides is `conveyor.backends.sql.inserts`; here only how rows land. Several
jobs travel as binary typed arrays read with `unnest` (one statement for any number, ids
handed out in input order); one job as a plain row, which plans far cheaper. A duplicate of
a unique job is skipped and the job holding its key read back in the same statement, so
reporting it costs no second round trip.

Many jobs without unique keys are written column by column (`jobrows`): a value the rows
share travels once, as a scalar, and only the columns that vary (a bulk enqueue's
arguments) as arrays, with ids drawn by a statement before (so the insert needs no
numbering, sorting or joining of rows to hand them out in input order). Dumping seventeen
arrays of 20,000 values and reading 20,000 result rows was most of the client's time in a
bulk enqueue.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

import psycopg
from psycopg import pq
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row

from conveyor import errors, jobrows, model
from conveyor.backends import sqlfile
from conveyor.backends.postgres import rows as convert
from conveyor.backends.sql import inserts
from conveyor.backends.sql import plans as shared

QUERIES = sqlfile.load("conveyor.backends.postgres")
PLAIN = QUERIES["insert_one"]
T = TypeVar("T")
AVAILABLE = model.JobState.AVAILABLE
DRAW_IDS = ("SELECT array_agg(nextval('conveyor_jobs_id_seq'))"
            " FROM generate_series(1, %(count)s::int)")
"""Ids for a column-wise write, drawn first: sorted, the k-th goes to the k-th row."""
COLUMNS: dict[str, tuple[str, str, str]] = {
    "name": ("name", "text", ""), "queue": ("queue", "text", ""),
    "priority": ("priority", "int", ""), "args": ("args_json", "text", "::jsonb"),
    "kwargs": ("kwargs_json", "text", "::jsonb"), "meta": ("meta_json", "text", "::jsonb"),
    "max_attempts": ("max_attempts", "int", ""), "run_at": ("run_at", "timestamptz", ""),
    "unique_states": ("unique_states", "int", ""),
    "rate_keys": ("rate_keys_json", "text", "::jsonb"), "rate_key": ("rate_key", "text", ""),
    "concurrency_key": ("concurrency_key", "text", ""),
    "concurrency_limit": ("concurrency_limit", "int", ""), "cost": ("cost", "int", ""),
    "batch_id": ("batch_id", "bigint", "")}
"""Columns a bulk write sets from the rows: their `NewJob` field, SQL type and conversion."""


def statement(step: inserts.Write) -> tuple[str, dict[str, Any]]:
    """The statement writing `step`'s rows, and its parameters: columns for several rows,
    one row's values for one."""
    jobs, states, now = step.jobs, step.states, step.now
    if len(jobs) == 1:
        job = jobs[0]
        return "insert_unique_one" if job.unique_key else "insert_one", \
            _row(job, states[0], now, step.waiting_on)
    if step.waiting_on:
        raise ValueError("jobs that wait on others are written one at a time")
    def column(field: str) -> list[Any]:
        return jobrows.column(jobs, field)

    queues = column("queue")
    return "insert_jobs", {
        "names": column("name"), "queues": queues, "states": [s.value for s in states],
        "priorities": column("priority"), "args": column("args_json"),
        "kwargs": column("kwargs_json"), "metas": column("meta_json"),
        "max_attempts": column("max_attempts"), "run_ats": column("run_at"),
        "unique_keys": column("unique_key"), "unique_states": column("unique_states"),
        "now": now, "rate_keys": column("rate_keys_json"), "rate_key": column("rate_key"),
        "concurrency_keys": column("concurrency_key"),
        "concurrency_limits": column("concurrency_limit"), "costs": column("cost"),
        "batch_ids": column("batch_id"),
        "wake": sorted({queue for queue, s in zip(queues, states, strict=True)
                        if s is AVAILABLE}),
    }


def _row(job: model.NewJob, state: model.JobState, now: datetime,
         waiting_on: int) -> dict[str, Any]:
    """The parameters of `insert_one` and `insert_unique_one`: one job's values."""
    return {"name": job.name, "queue": job.queue, "state": state.value,
            "priority": job.priority, "args": job.args_json, "kwargs": job.kwargs_json,
            "meta": job.meta_json, "max_attempts": job.max_attempts, "run_at": job.run_at,
            "now": now, "unique_key": job.unique_key, "unique_states": job.unique_states,
            "rate_keys": job.rate_keys_json, "rate_key": job.rate_key,
            "concurrency_key": job.concurrency_key, "concurrency_limit": job.concurrency_limit,
            "cost": job.cost, "batch_id": job.batch_id, "waiting_on": waiting_on}


def write_plain(conn: psycopg.Connection[Any], job: model.NewJob,
                now: datetime) -> model.Inserted:
    """The plan of a job whose row is written alone (`sql.inserts.row_alone`), run directly:
    one statement (prepared by psycopg after a few runs, the notification in it), its one
    value read from a plain tuple row."""
    state = job.initial_state(now)
    row = conn.execute(PLAIN, _row(job, state, now, 0)).fetchone()
    assert row is not None  # no ON CONFLICT: the row is written, or the statement raised
    return model.Inserted(row[0], state)


def columns_statement(step: inserts.Write) -> tuple[str, dict[str, Any]] | None:
    """The column-wise write of `step` and its parameters, where it applies: many jobs,
    none unique, none waiting on others."""
    jobs, count = step.jobs, len(step.jobs)
    if count < jobrows.COLUMNS_FROM or step.waiting_on \
            or any(jobrows.values_of(jobs, "unique_key")):
        return None
    rows = jobrows.of(jobs)
    params: dict[str, Any] = {"count": count, "now": step.now}
    varying: dict[str, list[Any]] = {"state": jobrows.state_values(step.states)}
    for column, (field, _, _) in COLUMNS.items():
        if field in rows.shared:
            params[column] = rows.shared[field]
        else:
            varying[column] = rows.varying[field]
    jobrows.fold(varying, params)
    queues = jobrows.values_of(rows, "queue")
    params["wake"] = sorted({queue for queue, state in zip(
        queues * count if len(queues) == 1 else queues, step.states, strict=True)
        if state is AVAILABLE})
    if not varying:  # every row alike: an array still gives the count of rows
        varying["state"] = [params.pop("state")] * count
    params.update({f"column_{column}": values for column, values in varying.items()})
    shared = tuple(name for name in (*COLUMNS, "state") if name in params)
    return _columns_statement(tuple(varying), shared), params


@functools.lru_cache(maxsize=64)
def _columns_statement(varying: Sequence[str], shared: Sequence[str]) -> str:
    """Rows whose `varying` columns come from arrays `column_<name>` and `shared` ones from
    scalars, each with its id from the array `ids` (drawn before, see `DRAW_IDS`)."""
    types = {name: kind for name, (_, kind, _) in COLUMNS.items()} | {"state": "text"}
    casts = {name: cast for name, (_, _, cast) in COLUMNS.items()} | {"state": ""}
    picks = {name: f"%({name})s::{types[name]}{casts[name]}" for name in shared}
    picks.update({name: f"u.{name}{casts[name]}" for name in varying})
    arrays = ", ".join(f"%(column_{name})b::{types[name]}[]" for name in varying)
    return f"""
WITH woke AS (
    SELECT count(*) AS n
      FROM (SELECT pg_notify('conveyor_jobs', q) FROM unnest(%(wake)s::text[]) AS q) AS sent
)
INSERT INTO conveyor_jobs (id, inserted_at, {", ".join(picks)})
OVERRIDING SYSTEM VALUE
SELECT u.id, %(now)s::timestamptz, {", ".join(picks.values())}
  FROM unnest(%(ids)b::bigint[], {arrays}) AS u(id, {", ".join(varying)}) CROSS JOIN woke"""


def written(step: inserts.Write, rows: Sequence[dict[str, Any]]) -> inserts.Written:
    """What the statement returned: per input row, its id or the job holding its key (for
    one unique job, that whole job)."""
    if len(step.jobs) == 1 and step.jobs[0].unique_key:  # one row, new or the holder
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
    if len(step.jobs) >= jobrows.COLUMNS_FROM and (columns := columns_statement(step)):
        text, params = columns
        async with conn.cursor() as cur:
            await cur.execute(DRAW_IDS, params, binary=True)
            params["ids"] = ids = sorted((await cur.fetchone() or [[]])[0])
            await cur.execute(text, params)
        return inserts.Written(ids)
    name, params = statement(step)
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(QUERIES[name], params)
        return written(step, await cur.fetchall())


def write(conn: psycopg.Connection[Any], step: inserts.Write) -> inserts.Written:
    """The same on a blocking connection."""
    if len(step.jobs) >= jobrows.COLUMNS_FROM and (columns := columns_statement(step)):
        text, params = columns
        with conn.cursor() as cur:
            cur.execute(DRAW_IDS, params, binary=True)
            params["ids"] = ids = sorted((cur.fetchone() or [[]])[0])
            cur.execute(text, params)
        return inserts.Written(ids)
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
