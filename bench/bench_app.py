"""Jobs the benchmarks run: no-ops, so the queue's own cost is what gets measured.

Worker processes load `bench.bench_app:app` (its URL from `$CONVEYOR_URL`); the suite, which
talks to several databases from one process, builds one app per database with `build(url)`.
"""

from __future__ import annotations

import os
import time

from conveyor import Conveyor


def build(url: str | None = None) -> Conveyor:
    """An app on `url` with the benchmark jobs registered (look them up by name)."""
    app = Conveyor(url)

    @app.job(name="noop")
    async def noop(n: int) -> None:
        return None

    @app.job(name="noop_sync")
    def noop_sync(n: int) -> None:
        return None

    @app.job(name="noop_limited", rate_limit="100/s", rate_key=lambda n: f"k{n % 500}")
    async def noop_limited(n: int) -> None:
        """Goes through admission (500 keys x 100/s: room for 50,000 starts/s)."""

    @app.job(name="noop_unique", unique_for=3600, unique_key=lambda n: n)
    async def noop_unique(n: int) -> None:
        """Unique per argument within the clock hour: enqueue pays the unique index."""

    @app.job(name="stamp")
    async def stamp(sent: float) -> float:
        """Seconds from enqueue to start, measured on this machine's clock."""
        return time.time() - sent

    return app


app = build(os.environ.get("CONVEYOR_URL"))
noop = app.registry.get("noop")
stamp = app.registry.get("stamp")
