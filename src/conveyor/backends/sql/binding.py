"""Parameters and results of the shared statements, built from the seam's values: paging
bounds, a filter's drive fragments and LIKE pattern, audit descriptions, a worker's
registration, and what an operator's change ended or reopened."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from conveyor import changes, errors, model, orchestrate
from conveyor.backends.base import WorkerSpec
from conveyor.filters import MAX_ID, JobFilter


def ended_by_change(verb: str, rows: Sequence[Mapping[str, Any]]) -> list[orchestrate.Final]:
    """Jobs an operator's cancel or delete ended; a deleted job counts as cancelled."""
    if verb == "delete":
        return [orchestrate.Final(int(row["id"]), model.JobState.CANCELLED,
                                  bool(row["has_dependants"]), row["batch_id"])
                for row in rows if row["has_dependants"] or row["batch_id"] is not None]
    return orchestrate.finals_of(rows)


def reopened_batches(change: changes.Change, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Batches whose jobs an operator's retry (or edit with retry) sent back to run: they
    have not finished any more."""
    if not (isinstance(change, changes.RetryJobs)
            or (isinstance(change, changes.EditJobs) and change.retry)):
        return []
    return sorted({int(row["batch_id"]) for row in rows if row["batch_id"] is not None})


PAGING = ("limit", "after_id", "before_id", "newest_first")
"""`JobFilter` fields that page a listing rather than choose jobs."""


def page_params(where: JobFilter) -> dict[str, int]:
    """The paging bounds of a query statement (`query`, `query_newest`)."""
    return {"after_id": where.after_id or 0,
            "before_id": MAX_ID if where.before_id is None else where.before_id,
            "limit": where.limit}


def describe_filter(where: JobFilter) -> str:
    """A filter as compact JSON, for the audit table and logs."""
    fields = {f.name: getattr(where, f.name) for f in dataclasses.fields(where)
              if f.name not in PAGING and getattr(where, f.name)}
    return orjson.dumps(fields, default=str).decode()


def describe_target(**target: Any) -> str:
    """What a non-job action acted on (a queue, key, schedule...), as JSON for the audit."""
    return orjson.dumps({k: v for k, v in target.items() if v is not None},
                        default=str).decode()


def about_params(about: WorkerSpec | None) -> dict[str, Any]:
    """The heartbeat's registration parameters (None when the worker told nothing)."""
    return {"host": about and about.host, "pid": about and about.pid,
            "concurrency": about and about.concurrency}


def drives(where: JobFilter) -> list[str]:
    """The `drive_*` statement fragments for the lists of `where` that hold one value: plain
    equalities that let a planner walk that column's index in id order."""
    return [f"drive_{name}" for name, values in (("state", where.states),
                                                 ("queue", where.queues),
                                                 ("name", where.names)) if len(values) == 1]


def like_pattern(text: str) -> str:
    """A LIKE pattern matching `text` anywhere; its own % _ and backslash match themselves."""
    if not isinstance(text, str) or "\x00" in text or len(text) > 1000:
        raise errors.ConveyorError(
            "the text to search for must be a string of at most 1000 characters, without NUL")
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
