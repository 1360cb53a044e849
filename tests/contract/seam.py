"""What every seam-area test of `tests/contract/` shares: a fixed time, rows to insert,
an error to record (tests call the `base.Backend` methods directly, on both engines)."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from conveyor import model
from conveyor.backends import base

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def new(name: str = "job", queue: str = "default", priority: int = 0, run_at: datetime = NOW,
        max_attempts: int = 3, args: list[object] | None = None) -> model.NewJob:
    return model.NewJob(name=name, queue=queue, priority=priority,
                        args_json=orjson.dumps(args or []).decode(), kwargs_json="{}",
                        max_attempts=max_attempts, run_at=run_at)


def error(message: str = "boom") -> str:
    entry = model.JobError(attempt=1, at=NOW, type="ValueError", message=message)
    return orjson.dumps(entry.to_json()).decode()


async def claim_one(backend: base.Backend, queue: str = "default") -> model.Job:
    jobs = await backend.claim([queue], 1, "w1", NOW)
    assert len(jobs) == 1
    return jobs[0]
