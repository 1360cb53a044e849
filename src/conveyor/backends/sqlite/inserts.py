"""SQLite's part of inserting jobs: the bulk row write, and a caller's own connection.

What an insert decides is `conveyor.backends.sql.inserts`; here only how rows land: plain
jobs in one statement when the connection holds the write lock, unique jobs and autocommit
connections row by row, a duplicate skipped by `ON CONFLICT DO NOTHING` and the job that
holds its key read right after it.

Many plain jobs are written column by column (`jobrows`): what the rows share is bound
once, what varies travels as one JSON array read with `json_each`, and each row's id is the
last id handed out plus its position. One short statement whatever the count: `executemany`
ran a statement a row (7 us each with this table's indexes, 1.2 us this way), and a
multi-row VALUES statement is compiled anew for each length (40 us a row).
"""

from __future__ import annotations

import functools
import os
import sqlite3
from collections.abc import Sequence
from typing import Any, TypeVar

import orjson

from conveyor import errors, jobrows, model
from conveyor.backends import sqlfile
from conveyor.backends.sql import inserts
from conveyor.backends.sql import plans as shared
from conveyor.backends.sqlite import rows as convert

QUERIES = sqlfile.load("conveyor.backends.sqlite")
T = TypeVar("T")
COLUMNS: dict[str, str] = {
    "name": "name", "queue": "queue", "priority": "priority", "args": "args_json",
    "kwargs": "kwargs_json", "meta": "meta_json", "max_attempts": "max_attempts",
    "run_at": "run_at", "rate_keys": "rate_keys_json", "rate_key": "rate_key",
    "concurrency_key": "concurrency_key", "concurrency_limit": "concurrency_limit",
    "cost": "cost", "batch_id": "batch_id", "unique_key": "unique_key",
    "unique_states": "unique_states"}
"""Columns of `conveyor_jobs` a bulk write sets from the rows, and their `NewJob` fields."""
MAX_JSON = 64 * 1024 * 1024
"""Bytes of JSON one statement takes at most (SQLite refuses a value over 1e9 bytes); more
rows are written in parts, each a statement."""
WRITE_LOCK = "UPDATE sqlite_sequence SET seq = seq WHERE name = 'conveyor_jobs'"
"""A write that changes nothing: it takes the write lock (a caller's transaction may have
begun deferred), so no other writer hands out ids between `LAST_ID` and the insert."""
LAST_ID = """SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'conveyor_jobs'), 0),
                  coalesce((SELECT max(id) FROM conveyor_jobs), 0))"""
"""The id AUTOINCREMENT would hand out next, less one."""


def write(conn: sqlite3.Connection, step: inserts.Write) -> inserts.Written:
    """`inserts.Write` on this connection, inside whatever transaction it is in."""
    if len(step.jobs) >= jobrows.COLUMNS_FROM and conn.in_transaction and not step.waiting_on:
        return _write_columns(conn, step)
    now_us = convert.to_micros(step.now)
    rows = [values(j, s, now_us, step.waiting_on)
            for j, s in zip(step.jobs, step.states, strict=True)]
    if len(rows) > 1 and conn.in_transaction and not any(j.unique_key for j in step.jobs):
        conn.executemany(QUERIES["insert_job"], rows)
        # We hold the write lock and ids come from AUTOINCREMENT: they are contiguous.
        last: int = conn.execute("SELECT last_insert_rowid()").fetchone()[0]
        return inserts.Written(range(last - len(rows) + 1, last + 1))
    ids: list[int | None] = []
    holders: dict[int, tuple[int, str]] = {}
    existing: dict[int, model.Job] = {}
    for k, (job, row) in enumerate(zip(step.jobs, rows, strict=True)):
        if job.unique_key is None:
            ids.append(conn.execute(QUERIES["insert_job"], row).lastrowid)
            continue
        got = conn.execute(QUERIES["insert_unique_job"],
                           (*row, job.unique_key, job.unique_states)).fetchone()
        ids.append(None if got is None else got[0])
        if got is None:  # read the holder now, as PostgreSQL's statement does: no plan step
            holder = conn.execute(QUERIES["find_unique"], {
                "keys": orjson.dumps([job.unique_key]).decode()}).fetchone()
            if holder is not None:
                holders[k] = (int(holder["id"]), str(holder["state"]))
                whole = conn.execute(QUERIES["get"], {"id": holders[k][0]}).fetchone()
                if whole is not None:  # what the caller returns for the duplicate
                    existing[k] = convert.job_from_row(whole)
    return inserts.Written(ids, holders, existing)


def values(job: model.NewJob, state: model.JobState, now_us: int, waiting_on: int = 0,
           ) -> tuple[Any, ...]:
    """The parameters of `insert_job` for `job`."""
    return (job.name, job.queue, state.value, job.priority, job.args_json, job.kwargs_json,
            job.meta_json, job.max_attempts, convert.to_micros(job.run_at), now_us,
            job.rate_keys_json, job.rate_key, job.concurrency_key, job.concurrency_limit,
            job.cost, job.batch_id, waiting_on)


def _write_columns(conn: sqlite3.Connection, step: inserts.Write) -> inserts.Written:
    """Many jobs in one statement, with the ids after the last one handed out (read under
    the write lock). A duplicate of a unique job is skipped, leaving its id unused, and the
    job holding its key read after."""
    rows, count = jobrows.of(step.jobs), len(step.jobs)
    shared: dict[str, Any] = {"inserted_at": convert.to_micros(step.now), "waiting_on": 0}
    varying: dict[str, list[Any]] = {"state": jobrows.state_values(step.states)}
    for column, field in COLUMNS.items():
        if field in rows.shared:
            shared[column] = rows.shared[field]
        else:
            varying[column] = rows.varying[field]
    jobrows.fold(varying, shared)
    if "run_at" in shared:
        shared["run_at"] = convert.to_micros(shared["run_at"])
    else:
        varying["run_at"] = [convert.to_micros(run_at) for run_at in varying["run_at"]]
    if not varying:  # every row alike: their positions are what json_each walks
        varying["args"] = [shared.pop("args")] * count
    values = next(iter(varying.values())) if len(varying) == 1 \
        else list(zip(*varying.values(), strict=True))
    unique = "unique_key" in varying or shared["unique_key"] is not None
    conn.execute(WRITE_LOCK)
    last: int = conn.execute(LAST_ID).fetchone()[0]
    statement = _columns_statement(tuple(varying), tuple(shared), unique)
    stored = _insert_parts(conn, statement, shared, values, last)
    ids = range(last + 1, last + count + 1)
    if stored == count:
        return inserts.Written(ids)
    present = {row[0] for row in conn.execute(
        "SELECT id FROM conveyor_jobs WHERE id > ? AND id <= ?", (last, last + count))}
    return _duplicates(conn, [job_id if job_id in present else None for job_id in ids],
                       rows.column("unique_key"))


def _insert_parts(conn: sqlite3.Connection, statement: str, shared: dict[str, Any],
                  values: list[Any], last: int) -> int:
    """Run `statement` over `values` (rows after id `last`) in as few parts as keep each
    one's JSON within `MAX_JSON`; how many rows were stored."""
    data = orjson.dumps(values)
    if len(data) > MAX_JSON and len(values) > 1:
        half = len(values) // 2
        return _insert_parts(conn, statement, shared, values[:half], last) \
            + _insert_parts(conn, statement, shared, values[half:], last + half)
    stored: int = conn.execute(statement, {**shared, "last": last, "rows": data.decode()}
                               ).rowcount
    return stored


def _duplicates(conn: sqlite3.Connection, ids: list[int | None],
                keys: list[str | None]) -> inserts.Written:
    """`ids` (None for a skipped duplicate) with the job holding each skipped row's key,
    read whole: what the caller returns for a duplicate."""
    reader = conn.cursor()
    reader.row_factory = sqlite3.Row
    skipped = [k for k, job_id in enumerate(ids) if job_id is None]
    found = {row["unique_key"]: (int(row["id"]), str(row["state"])) for row in reader.execute(
        QUERIES["find_unique"], {"keys": orjson.dumps(sorted({
            str(keys[k]) for k in skipped})).decode()})}
    holders = {k: found[str(keys[k])] for k in skipped if keys[k] in found}
    whole: dict[int, model.Job] = {}
    for holder_id, _ in holders.values():
        if holder_id not in whole and (row := reader.execute(
                QUERIES["get"], {"id": holder_id}).fetchone()) is not None:
            whole[holder_id] = convert.job_from_row(row)
    existing = {k: whole[holder[0]] for k, holder in holders.items() if holder[0] in whole}
    return inserts.Written(ids, holders, existing)


@functools.lru_cache(maxsize=64)
def _columns_statement(varying: Sequence[str], shared: Sequence[str], unique: bool) -> str:
    """The insert of rows whose `varying` columns come from the JSON array `:rows` (one
    array a row, or one value a row when only one column varies) and `shared` ones from
    their own parameters; with `unique`, in input order, a duplicate skipped."""
    picks = {name: f":{name}" for name in shared}
    picks.update({name: "value" if len(varying) == 1 else f"value ->> {k}"
                  for k, name in enumerate(varying)})
    return (f"INSERT INTO conveyor_jobs (id, {', '.join(picks)})\n"
            f"SELECT :last + key + 1, {', '.join(picks.values())} FROM json_each(:rows)"
            + ("\nWHERE true ORDER BY key ON CONFLICT DO NOTHING" if unique else ""))


class Caller:
    """A caller's `sqlite3` connection to the app's file, for transactional enqueue."""

    where = "the SQLite database of this connection"

    def __init__(self, conn: Any, url: str) -> None:
        if not isinstance(conn, sqlite3.Connection):
            raise errors.ConfigurationError(
                f"this app keeps its jobs in SQLite; transactional enqueue needs a sqlite3 "
                f"(or SQLAlchemy) connection to its file, got {type(conn).__name__}")
        _same_file(conn, url)
        self.conn = conn

    def run(self, plan: shared.Steps[T]) -> T:
        from conveyor.backends.sqlite import plans  # which writes rows with this module

        return plans.drive(self.conn, plan)


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
