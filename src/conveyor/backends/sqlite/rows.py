"""Converting between SQLite rows and parameters and Conveyor's values.

Timestamps are stored as integer microseconds since the Unix epoch; batches and filter lists
travel as JSON text read with `json_each`.
"""

from __future__ import annotations

import operator
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from conveyor import encoding, limits, metrics, model, outcome, storedjob
from conveyor.backends import base
from conveyor.backends.sql import binding

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_micros(when: datetime) -> int:
    delta = when - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(value: int | None) -> datetime | None:
    return None if value is None else EPOCH + timedelta(microseconds=value)


def document(text: str) -> Any:
    """A JSON column's value; text that is not JSON as `{"unreadable": text}`."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return {"unreadable": text}


_STATEMENT_OF = {
    outcome.Completed: "complete", outcome.Failed: "fail", outcome.Snoozed: "snooze",
    outcome.Cancelled: "cancel_running", outcome.Interrupted: "interrupt",
}


_COMPLETED = outcome.Completed


def group(outcomes: Sequence[outcome.Outcome]) -> dict[str, list[dict[str, Any]]]:
    """Split outcomes into one JSON batch per statement."""
    batches: dict[str, list[dict[str, Any]]] = {}
    for item in outcomes:
        if item.__class__ is _COMPLETED:  # most outcomes: no pattern matching for them
            entry: dict[str, Any] = {"id": item.job_id, "attempt": item.attempt,
                                     "result": item.result_json}
            batch = batches.get("complete")
            if batch is None:
                batch = batches["complete"] = []
            batch.append(entry)
            continue
        entry = {"id": item.job_id, "attempt": item.attempt}
        match item:
            case outcome.Failed(error_json=error, retry_at=retry_at):
                entry["error"] = error
                entry["run_at"] = None if retry_at is None else to_micros(retry_at)
            case outcome.Snoozed(run_at=run_at):
                entry["run_at"] = to_micros(run_at)
            case outcome.Cancelled(error_json=error) | outcome.Interrupted(error_json=error):
                entry["error"] = error
        batch = batches.get(statement := _STATEMENT_OF[type(item)])
        if batch is None:  # not setdefault: that would build an empty list for every item
            batch = batches[statement] = []
        batch.append(entry)
    return batches


def filter_params(where: base.JobFilter) -> dict[str, Any]:
    """Bind a JobFilter to the shared `filter` fragment: lists travel as JSON arrays."""
    def as_json(values: Any) -> str | None:
        return orjson.dumps(values).decode() if values else None

    def micros(when: datetime | None) -> int | None:
        return None if when is None else to_micros(when)

    return {"match_none": int(where.match_none), "ids": as_json(list(where.ids)),
            "states": as_json([str(s) for s in where.states]),
            "queues": as_json(list(where.queues)), "names": as_json(list(where.names)),
            "args_contains": as_json(list(where.args_contains)),
            "kwargs_contains": as_json(dict(where.kwargs_contains)),
            "batch_ids": as_json(list(where.batch_ids)),
            "inserted_after": micros(where.inserted_after),
            "inserted_before": micros(where.inserted_before),
            "text": binding.like_pattern(where.text) if where.text else None}


def metric_params(rows: Sequence[metrics.MetricRow]) -> dict[str, Any]:
    """Tallies as one JSON array of rows (see `record_metrics` in queries.sql)."""
    return {"rows": orjson.dumps([
        [to_micros(r.minute), r.queue, r.name, r.completed, r.failed, r.retried,
         r.cancelled, r.runtime_sum, r.runtime_max] for r in rows]).decode()}


_BY_NAME = operator.itemgetter(*storedjob.STORED_COLUMNS)
_STATE, _RATE_KEYS = 3, 17
_MOMENTS = (10, 11, 12, 13)
"""run_at, inserted_at, attempted_at, finalized_at."""
_NEVER_NULL = (10, 11)
_STATES = {str(state): state for state in model.JobState}


def job_from_row(row: sqlite3.Row | Mapping[str, Any]) -> model.Job:
    """Build a Job; its JSON columns are decoded when first read, and a row whose arguments
    cannot be decoded reads as a Job marked `malformed`."""
    return _job(list(_BY_NAME(row)), {})


def jobs_of(rows: Sequence[Sequence[Any]], columns: Sequence[str]) -> list[model.Job]:
    """The jobs of whole job rows as plain tuples in `columns` order: columns read by
    position (reading a `sqlite3.Row` by name costs a search of its columns per read)."""
    if not rows:
        return []
    index = {name: i for i, name in enumerate(columns)}
    pick = operator.itemgetter(*(index[name] for name in storedjob.STORED_COLUMNS))
    moments: dict[int, datetime] = {}  # the jobs of one claim share most of their times
    return [_job(list(pick(row)), moments) for row in rows]


def _job(values: list[Any], moments: dict[int, datetime]) -> model.Job:
    """`values` (in `storedjob.STORED_COLUMNS` order) converted in place where SQLite stores
    another type: state, timestamps as microseconds (each converted once per `moments`),
    rate keys."""
    state = values[_STATE]
    values[_STATE] = _STATES.get(state) or model.JobState(state)
    for at in _MOMENTS:
        micros = values[at]
        if micros is not None:
            moment = moments.get(micros)
            if moment is None:
                moment = moments[micros] = EPOCH + timedelta(microseconds=micros)
            values[at] = moment
        elif at in _NEVER_NULL:
            values[at] = EPOCH
    rate_keys = values[_RATE_KEYS]
    values[_RATE_KEYS] = _rate_keys(rate_keys) if rate_keys else ()
    return storedjob.stored_job(encoding.loads, values)


def candidate(row: Mapping[str, Any]) -> limits.Candidate:
    """A `candidates` row as admission reads it (rate keys as JSON `[[key, interval], ...]`)."""
    pairs = orjson.loads(row["rate_keys"]) if row["rate_keys"] else ()
    return limits.Candidate(
        id=row["id"], order=(row["priority"], row["run_at"], row["id"]),
        rate_keys=tuple((str(key), float(interval)) for key, interval in pairs),
        cost=row["cost"], concurrency_key=row["concurrency_key"],
        concurrency_limit=row["concurrency_limit"])


def _rate_keys(text: str | None) -> tuple[str, ...]:
    try:
        return tuple(str(pair[0]) for pair in orjson.loads(text)) if text else ()
    except (orjson.JSONDecodeError, TypeError, IndexError, KeyError):
        return ()
