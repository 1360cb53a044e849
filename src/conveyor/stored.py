"""What an enqueue's insert stored, as jobs; and the insert from plain code that crosses no
event loop (a backend's `insert_blocking`, see `Conveyor.insert_blocking`)."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from conveyor import blocking, enqueued, model

Stored = tuple[list[model.Inserted], datetime, dict[int, model.Job] | None]
"""What an insert stored: a result per row, when, and the stored job of each duplicate (by
position; None when there is none)."""


def duplicates(found: Sequence[model.Job | None]) -> dict[int, model.Job]:
    """The stored job each duplicate stands for, by position. Each was read for this call
    alone, so it is marked a duplicate in place: `dataclasses.replace` of a job's two dozen
    fields cost a sixth of a duplicate enqueue."""
    existing = {}
    for position, job in enumerate(found):
        if job is not None:
            object.__setattr__(job, "duplicate", True)
            existing[position] = job
    return existing


def only(row: model.NewJob, inserted: list[model.Inserted], now: datetime,
         existing: dict[int, model.Job] | None) -> model.Job:
    """The job of a one-row insert (as `Enqueued` would build it)."""
    if existing and 0 in existing:
        return existing[0]
    return enqueued.job_of(row, inserted[0], now)


def direct_backend(runner: blocking.BlockingRunner, migrated: bool,
                   backends: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any]) -> Any:
    """The calling thread's backend if it has blocking calls (`insert_blocking`,
    `get_blocking`) and may be used without its loop: open, its database seen migrated, no
    loop running in the thread. None: cross the loop."""
    loop = runner.idle_loop()
    if loop is None or not migrated:
        return None
    backend = backends.get(loop)  # traced: `insert_blocking` is None where there is none
    return backend if backend is not None and backend.insert_blocking is not None else None


def insert_blocking(backend: Any, rows: Sequence[model.NewJob], now: datetime) -> Stored:
    """Insert through the backend's blocking call; each duplicate's stored job read by the
    insert itself or, where it was not (a replaced duplicate), right after."""
    inserted: list[model.Inserted] = backend.insert_blocking(rows, now)
    for done in inserted:
        if done.duplicate:
            return inserted, now, duplicates([
                done.existing or (backend.get_blocking(done.id) if done.duplicate else None)
                for done in inserted])
    return inserted, now, None
