"""Jobs the benchmarks run: no-ops, so the queue's own cost is what gets measured."""

from __future__ import annotations

import os
import time

from conveyor import Conveyor

app = Conveyor(os.environ.get("CONVEYOR_URL"))


@app.job(name="noop")
async def noop(n: int) -> None:
    return None


@app.job(name="noop_sync")
def noop_sync(n: int) -> None:
    return None


@app.job(name="noop_limited", rate_limit="100/s", rate_key=lambda n: f"k{n % 500}")
async def noop_limited(n: int) -> None:
    """Goes through admission (500 keys x 100/s: room for 50,000 starts/s)."""


@app.job(name="stamp")
async def stamp(sent: float) -> float:
    """Seconds from enqueue to start, measured on this machine's clock."""
    return time.time() - sent
