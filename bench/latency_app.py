"""The application the latency benchmark's workers load (`bench.latency_app:app`, its URL from
`$CONVEYOR_URL`): one job that reports when its attempt began and when its code started.

An attempt hook notes the time the worker entered the attempt (the claim had returned and the
job's task was running); the hook runs in the job's context, so the job reads it back. Kept
apart from `bench_app`, so the throughput runs pay for no hook.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import time
from collections.abc import Iterator

from conveyor import Conveyor, hooks

entered: contextvars.ContextVar[float] = contextvars.ContextVar("entered", default=0.0)


@contextlib.contextmanager
def note_entry(attempt: hooks.Attempt) -> Iterator[None]:
    token = entered.set(time.time())
    try:
        yield
    finally:
        entered.reset(token)


def build(url: str | None = None) -> Conveyor:
    app = Conveyor(url)
    app.hooks.attempt.append(note_entry)

    @app.job(name="stamp")
    async def stamp(sent: float) -> list[float]:
        """When the attempt was entered and when this line ran (epoch seconds); `sent` is
        when the producer called enqueue."""
        return [entered.get(), time.time()]

    return app


app = build(os.environ.get("CONVEYOR_URL"))
