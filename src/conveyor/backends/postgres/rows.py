"""Converting between PostgreSQL rows and parameters and Conveyor's values."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson

from conveyor import limits, metrics, model, outcome
from conveyor.backends import base
from conveyor.backends.sql import binding

STATEMENT_OF = {
    outcome.Completed: "complete", outcome.Failed: "fail", outcome.Snoozed: "snooze",
    outcome.Cancelled: "cancel_running", outcome.Interrupted: "interrupt",
}


def loads(data: str | bytes) -> Any:
    """orjson, falling back to the stdlib for what orjson refuses (integers over 64 bits)."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(bytes(data) if isinstance(data, memoryview) else data)


def group(outcomes: Sequence[outcome.Outcome]) -> dict[str, dict[str, list[Any]]]:
    """Split outcomes into parallel arrays per statement (see the `outcomes` fragment)."""
    batches: dict[str, dict[str, list[Any]]] = {}
    for item in outcomes:
        batch = batches.setdefault(STATEMENT_OF[type(item)],
                                   {"ids": [], "attempts": [], "bodies": [], "run_ats": []})
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


def job_from_row(row: Mapping[str, Any]) -> model.Job:
    """Build a Job; a row whose arguments have the wrong JSON shape becomes `malformed`."""
    args, kwargs, meta, malformed = row["args"], row["kwargs"], row["meta"], None
    if not isinstance(args, list) or not isinstance(kwargs, dict) or not isinstance(meta, dict):
        args, kwargs, meta = [], {}, {}
        malformed = ("undecodable arguments: args must be a JSON array, "
                     "kwargs and meta JSON objects")
    try:
        errs = tuple(model.JobError.from_json(e) for e in row["errors"] or ())
    except (AttributeError, KeyError, TypeError, ValueError):
        errs = ()
    return model.Job(
        id=row["id"], name=row["name"], queue=row["queue"], state=model.JobState(row["state"]),
        priority=row["priority"], args=args, kwargs=kwargs, attempt=row["attempt"],
        max_attempts=row["max_attempts"], run_at=row["run_at"], inserted_at=row["inserted_at"],
        attempted_at=row["attempted_at"], finalized_at=row["finalized_at"],
        attempted_by=row["attempted_by"], errors=errs, result=row["result"], meta=meta,
        malformed=malformed, rate_keys=tuple(str(pair[0]) for pair in row["rate_keys"] or ()),
        batch_id=row["batch_id"],
    )


def candidate(row: Mapping[str, Any]) -> limits.Candidate:
    """A `candidates` row as admission reads it (rate keys as `[[key, interval], ...]`)."""
    return limits.Candidate(
        id=row["id"], order=(row["priority"], row["run_at"], row["id"]),
        rate_keys=tuple((str(key), float(interval)) for key, interval in row["rate_keys"] or ()),
        cost=row["cost"], concurrency_key=row["concurrency_key"],
        concurrency_limit=row["concurrency_limit"])
