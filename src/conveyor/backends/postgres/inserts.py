"""Inserting jobs on a PostgreSQL connection, inside whatever transaction it is in.

Used by the backend (on its pooled connections) and by transactional enqueue on a caller's
own psycopg connection. The plan - which rows were duplicates of unique jobs, which existing
jobs to update - is pure Python shared by the two thin shells below (async and blocking),
so the two paths cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
import psycopg
from psycopg import pq
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row

from conveyor import errors, model, orchestrate
from conveyor.backends import sqlfile
from conveyor.backends.postgres import plans

QUERIES = sqlfile.load("conveyor.backends.postgres")


class Race(Exception):
    """A unique job's conflicting row left its covered state before it could be read."""


# -- the plan ------------------------------------------------------------------------------


def insert_params(jobs: Sequence[model.NewJob], now: datetime) -> dict[str, Any]:
    states = [job.initial_state(now) for job in jobs]
    return {
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
        "wake": sorted({j.queue for j, s in zip(jobs, states, strict=True)
                        if s is model.JobState.AVAILABLE}),
    }


def statement_for(jobs: Sequence[model.NewJob], now: datetime) -> tuple[str, dict[str, Any]]:
    """The insert statement and its parameters: one row, or arrays for a batch."""
    if len(jobs) > 1:
        return QUERIES["insert_jobs"], insert_params(jobs, now)
    job = jobs[0]
    return QUERIES[one_statement(job)], {
        "name": job.name, "queue": job.queue, "state": job.initial_state(now).value,
        "priority": job.priority, "args": job.args_json, "kwargs": job.kwargs_json,
        "meta": job.meta_json, "max_attempts": job.max_attempts, "run_at": job.run_at,
        "now": now, "unique_key": job.unique_key, "unique_states": job.unique_states,
        "rate_keys": job.rate_keys_json, "rate_key": job.rate_key,
        "concurrency_key": job.concurrency_key, "concurrency_limit": job.concurrency_limit,
        "cost": job.cost, "batch_id": job.batch_id, "waiting_on": 0}


def one_statement(job: model.NewJob) -> str:
    """The statement inserting one job: a unique job's also reads a duplicate back."""
    return "insert_unique_one" if job.unique_key else "insert_one"


def inserted_ids(jobs: Sequence[model.NewJob], rows: Sequence[dict[str, Any]]) -> list[int | None]:
    """Ids in input order, None for a skipped duplicate."""
    if len(jobs) == 1:
        return [rows[0]["id"] if rows else None]
    return [row["id"] for row in rows]


def existing_of(jobs: Sequence[model.NewJob],
                rows: Sequence[dict[str, Any]]) -> dict[str, tuple[int, str]]:
    """The rows holding the keys of skipped duplicates, as the insert read them back."""
    return {str(job.unique_key): (row["existing_id"], row["existing_state"])
            for job, row in zip(jobs, rows, strict=False)
            if row.get("existing_id") is not None}


def rate_keys_of(jobs: Sequence[model.NewJob]) -> list[str]:
    """Rate keys the jobs draw on: each gets its row in `conveyor_limits` before they land."""
    return sorted({str(pair[0]) for job in jobs if job.rate_keys_json
                   for pair in orjson.loads(job.rate_keys_json)})


def duplicate_keys(jobs: Sequence[model.NewJob], ids: Sequence[int | None]) -> list[str]:
    """Unique keys of the rows the insert skipped (NULL id: a covered row holds the key)."""
    return sorted({str(jobs[k].unique_key) for k, job_id in enumerate(ids) if job_id is None})


def replace_params(jobs: Sequence[model.NewJob], ids: Sequence[int | None],
                   existing: dict[str, tuple[int, str]], now: datetime) -> dict[str, Any] | None:
    """Parameters of `replace_unique` for duplicates enqueued with on_conflict="replace"."""
    skipped = [k for k, job_id in enumerate(ids) if job_id is None]
    if any(jobs[k].unique_key not in existing for k in skipped):
        raise Race(f"unique job {jobs[skipped[0]].name!r} changed while inserting")
    replacing = {existing[str(jobs[k].unique_key)][0]: jobs[k] for k in skipped
                 if jobs[k].replace}
    if not replacing:
        return None
    news = list(replacing.values())
    return {"ids": list(replacing), "args": [j.args_json for j in news],
            "kwargs": [j.kwargs_json for j in news], "priorities": [j.priority for j in news],
            "run_ats": [j.run_at for j in news], "now": now}


def results(jobs: Sequence[model.NewJob], ids: Sequence[int | None],
            existing: dict[str, tuple[int, str]], now: datetime) -> list[model.Inserted]:
    """One `Inserted` per input row, in input order."""
    out = []
    for job, job_id in zip(jobs, ids, strict=True):
        if job_id is not None:
            out.append(model.Inserted(job_id, job.initial_state(now)))
        else:
            found_id, state = existing[str(job.unique_key)]
            out.append(model.Inserted(found_id, model.JobState(state), duplicate=True))
    return out


def _existing(rows: Sequence[dict[str, Any]]) -> dict[str, tuple[int, str]]:
    return {row["unique_key"]: (row["id"], row["state"]) for row in rows}


def _with_replaced(existing: dict[str, tuple[int, str]],
                   replaced: Sequence[dict[str, Any]]) -> dict[str, tuple[int, str]]:
    state_of = {row["id"]: row["state"] for row in replaced}
    return {key: (i, state_of.get(i, s)) for key, (i, s) in existing.items()}


# -- the shells ----------------------------------------------------------------------------


def needs_transaction(jobs: Sequence[model.NewJob]) -> bool:
    """Unique jobs, batches and dependencies take several statements that must be atomic."""
    return any(job.unique_key or job.batch_id is not None or job.has_dependencies
               for job in jobs)


def dependant_row(job: model.NewJob, waiting_on: int, now: datetime) -> orchestrate.Query:
    _, params = statement_for([job], now)
    return orchestrate.Query(one_statement(job), {**params, "waiting_on": waiting_on})


async def insert_jobs(conn: psycopg.AsyncConnection[Any], jobs: Sequence[model.NewJob],
                      now: datetime) -> list[model.Inserted]:
    """Insert on an async connection; must run in a transaction when `needs_transaction`."""
    if any(job.batch_id is not None for job in jobs):
        await plans.adrive(conn, orchestrate.grow_batches(jobs), insert_jobs)
    async with conn.cursor(row_factory=dict_row) as cur:
        if keys := rate_keys_of(jobs):
            await cur.execute(QUERIES["register_rate_keys"], {"keys": keys})
        if any(job.has_dependencies for job in jobs):
            return await plans.adrive(conn, orchestrate.insert_with_dependencies(
                jobs, now, lambda job, waiting_on: dependant_row(job, waiting_on, now)),
                insert_jobs)
        await cur.execute(*statement_for(jobs, now))
        rows = await cur.fetchall()
        ids = inserted_ids(jobs, rows)
        existing = existing_of(jobs, rows)
        if unread := [key for key in duplicate_keys(jobs, ids) if key not in existing]:
            # a concurrent insert of the key committed after the statement began
            await cur.execute(QUERIES["find_unique"], {"keys": unread})
            existing |= _existing(await cur.fetchall())
        if None in ids:
            replace = replace_params(jobs, ids, existing, now)
            if replace is not None:
                await cur.execute(QUERIES["replace_unique"], replace)
                existing = _with_replaced(existing, await cur.fetchall())
    return results(jobs, ids, existing, now)


def insert_jobs_blocking(conn: psycopg.Connection[Any], jobs: Sequence[model.NewJob],
                         now: datetime) -> list[model.Inserted]:
    """The same on a blocking connection (transactional enqueue from sync code)."""
    if any(job.batch_id is not None for job in jobs):
        plans.drive(conn, orchestrate.grow_batches(jobs), insert_jobs_blocking)
    with conn.cursor(row_factory=dict_row) as cur:
        if keys := rate_keys_of(jobs):
            cur.execute(QUERIES["register_rate_keys"], {"keys": keys})
        if any(job.has_dependencies for job in jobs):
            return plans.drive(conn, orchestrate.insert_with_dependencies(
                jobs, now, lambda job, waiting_on: dependant_row(job, waiting_on, now)),
                insert_jobs_blocking)
        cur.execute(*statement_for(jobs, now))
        rows = cur.fetchall()
        ids = inserted_ids(jobs, rows)
        existing = existing_of(jobs, rows)
        if unread := [key for key in duplicate_keys(jobs, ids) if key not in existing]:
            # a concurrent insert of the key committed after the statement began
            cur.execute(QUERIES["find_unique"], {"keys": unread})
            existing |= _existing(cur.fetchall())
        if None in ids:
            replace = replace_params(jobs, ids, existing, now)
            if replace is not None:
                cur.execute(QUERIES["replace_unique"], replace)
                existing = _with_replaced(existing, cur.fetchall())
    return results(jobs, ids, existing, now)


def insert_on(conn: Any, url: str, jobs: Sequence[model.NewJob], now: datetime, *,
              check_schema: bool = True) -> list[model.Inserted]:
    if not isinstance(conn, psycopg.Connection):
        raise errors.ConfigurationError(
            f"transactional enqueue needs a sqlite3, psycopg or SQLAlchemy connection, "
            f"got {type(conn).__name__}")
    _usable(conn.info, url)
    if check_schema:
        with conn.cursor() as cur:
            exists = cur.execute(QUERIES["has_migrations"]).fetchone()
            applied = [row[0] for row in cur.execute(QUERIES["applied_migrations"])] \
                if exists and exists[0] else None
        _require_schema(conn.info.dbname, applied)
    return insert_jobs_blocking(conn, jobs, now)


async def ainsert_on(conn: Any, url: str, jobs: Sequence[model.NewJob], now: datetime, *,
                     check_schema: bool = True) -> list[model.Inserted]:
    if isinstance(conn, psycopg.Connection):
        return insert_on(conn, url, jobs, now, check_schema=check_schema)
    if not isinstance(conn, psycopg.AsyncConnection):
        raise errors.ConfigurationError(
            f"transactional enqueue needs a psycopg or SQLAlchemy connection, "
            f"got {type(conn).__name__}")
    _usable(conn.info, url)
    if check_schema:
        async with conn.cursor() as cur:
            exists = await (await cur.execute(QUERIES["has_migrations"])).fetchone()
            applied = [row[0] for row in await (
                await cur.execute(QUERIES["applied_migrations"])).fetchall()] \
                if exists and exists[0] else None
        _require_schema(conn.info.dbname, applied)
    return await insert_jobs(conn, jobs, now)


def _usable(info: Any, url: str) -> None:
    """Same database as the app, and a transaction that can still run statements."""
    _same_database(info.dbname, url)
    if info.transaction_status == pq.TransactionStatus.INERROR:
        raise errors.ConfigurationError(
            "the connection's transaction has already failed (a statement in it raised); "
            "roll it back before enqueueing on it")


def _require_schema(dbname: str, applied: list[int] | None) -> None:
    """Raise `NotMigrated` (read before anything is written: the transaction stays usable)."""
    from conveyor.backends import transactional  # it imports this module lazily, too

    transactional.require_schema("conveyor.backends.postgres", applied,
                                 f"the PostgreSQL database {dbname!r} of this connection")


def _same_database(dbname: str, url: str) -> None:
    expected = conninfo_to_dict(url).get("dbname")
    if expected and dbname != expected:
        raise errors.ConfigurationError(
            f"the connection is to database {dbname!r}, but this app keeps its jobs in "
            f"{expected!r}")
