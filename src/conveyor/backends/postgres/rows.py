"""Converting between PostgreSQL rows and parameters and Conveyor's values."""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson
import psycopg
from psycopg.abc import Buffer
from psycopg.adapt import Loader

from conveyor import limits, metrics, model, outcome, storedjob
from conveyor.backends import base
from conveyor.backends.sql import binding

STATEMENT_OF = {
    outcome.Completed: "complete", outcome.Failed: "fail", outcome.Snoozed: "snooze",
    outcome.Cancelled: "cancel_running", outcome.Interrupted: "interrupt",
}


def loads(data: str | bytes | None) -> Any:
    """orjson, falling back to the stdlib for what orjson refuses (integers over 64 bits);
    None (SQL NULL, read undecoded) stays None."""
    if data is None:
        return None
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(bytes(data) if isinstance(data, memoryview) else data)


def group(outcomes: Sequence[outcome.Outcome]) -> dict[str, dict[str, list[Any]]]:
    """Split outcomes into parallel arrays per statement (see the `outcomes` fragment)."""
    batches: dict[str, dict[str, list[Any]]] = {}
    for item in outcomes:
        batch = batches.get(statement := STATEMENT_OF[type(item)])
        if batch is None:  # not setdefault: that would build the empty arrays for every item
            batch = batches[statement] = {"ids": [], "attempts": [], "bodies": [],
                                          "run_ats": []}
        body, run_at = _payload(item)
        batch["ids"].append(item.job_id)
        batch["attempts"].append(item.attempt)
        batch["bodies"].append(body)
        batch["run_ats"].append(run_at)
    return batches


def _payload(item: outcome.Outcome) -> tuple[str | None, datetime | None]:
    """The JSON body (result or error) and the time (retry or snooze) an outcome carries."""
    match item:
        case outcome.Completed():
            return item.result_json, None
        case outcome.Failed():
            return item.error_json, item.retry_at
        case outcome.Snoozed():
            return None, item.run_at
        case outcome.Cancelled() | outcome.Interrupted():
            return item.error_json, None


def filter_params(where: base.JobFilter) -> dict[str, Any]:
    """Bind a JobFilter to the shared `filter` fragment: empty lists become NULL."""
    def json_or_none(values: Any) -> str | None:
        return orjson.dumps(values).decode() if values else None

    return {"match_none": where.match_none, "ids": list(where.ids) or None,
            "states": [str(s) for s in where.states] or None,
            "queues": list(where.queues) or None, "names": list(where.names) or None,
            "args_contains": json_or_none(list(where.args_contains)),
            "kwargs_contains": json_or_none(dict(where.kwargs_contains)),
            "batch_ids": list(where.batch_ids) or None,
            "inserted_after": where.inserted_after, "inserted_before": where.inserted_before,
            "text": binding.like_pattern(where.text) if where.text else None}


def metric_params(rows: Sequence[metrics.MetricRow]) -> dict[str, Any]:
    """Tallies as parallel arrays (see `record_metrics` in queries.sql), sorted: concurrent
    writers lock the minutes' rows in one order."""
    ordered = sorted(rows, key=lambda r: (r.minute, r.queue, r.name))
    return {"minutes": [r.minute for r in ordered], "queues": [r.queue for r in ordered],
            "names": [r.name for r in ordered], "completed": [r.completed for r in ordered],
            "failed": [r.failed for r in ordered], "retried": [r.retried for r in ordered],
            "cancelled": [r.cancelled for r in ordered],
            "runtime_sums": [r.runtime_sum for r in ordered],
            "runtime_maxes": [r.runtime_max for r in ordered]}


_BY_NAME = operator.itemgetter(*storedjob.STORED_COLUMNS)
_STATE, _RATE_KEYS = 3, 17
_STATES = {str(state): state for state in model.JobState}


def job_from_row(row: Mapping[str, Any]) -> model.Job:
    """Build a Job from a row whose JSON psycopg decoded already; a row whose arguments have
    the wrong JSON shape becomes `malformed`."""
    values = list(_BY_NAME(row))
    values[_RATE_KEYS] = tuple(str(pair[0]) for pair in values[_RATE_KEYS] or ())
    return _job(values, _as_is)


class UndecodedJson(Loader):
    """jsonb as the text PostgreSQL sent: a claimed job decodes its JSON when first read."""

    def load(self, data: Buffer) -> bytes:
        return bytes(data)


def column_names(cur: psycopg.AsyncCursor[Any]) -> list[str]:
    """The names of the columns of `cur`'s result, read off the result itself: its
    `description` builds a `Column` (type looked up, per column) for each of a job row's
    29 columns, a third of the client's time in a claim."""
    result = cur.pgresult
    if result is None:
        return []
    fname = result.fname
    return [(fname(i) or b"").decode() for i in range(result.nfields)]


def jobs_of(rows: Sequence[Sequence[Any]], columns: Sequence[str]) -> list[model.Job]:
    """The jobs of whole job rows (tuples in `columns` order) read with `UndecodedJson`."""
    if not rows:
        return []
    index = {name: i for i, name in enumerate(columns)}
    pick = operator.itemgetter(*(index[name] for name in storedjob.STORED_COLUMNS))
    jobs = []
    for row in rows:
        values = list(pick(row))
        rate_keys = values[_RATE_KEYS]
        values[_RATE_KEYS] = tuple(str(pair[0]) for pair in loads(rate_keys)) \
            if rate_keys else ()
        jobs.append(_job(values, loads))
    return jobs


def _job(values: list[Any], decode: Callable[[Any], Any]) -> model.Job:
    state = values[_STATE]
    values[_STATE] = _STATES.get(state) or model.JobState(state)
    return storedjob.stored_job(decode, values)


def _as_is(value: Any) -> Any:
    return value


def candidate(row: Mapping[str, Any]) -> limits.Candidate:
    """A `candidates` row as admission reads it (rate keys as `[[key, interval], ...]`)."""
    return limits.Candidate(
        id=row["id"], order=(row["priority"], row["run_at"], row["id"]),
        rate_keys=tuple((str(key), float(interval)) for key, interval in row["rate_keys"] or ()),
        cost=row["cost"], concurrency_key=row["concurrency_key"],
        concurrency_limit=row["concurrency_limit"])
