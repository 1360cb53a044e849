"""The service's jobs, on one Conveyor application (`$CONVEYOR_URL`, else ./conveyor.db)."""

from __future__ import annotations

import asyncio

from conveyor import Conveyor

app = Conveyor()


@app.job(queue="emails", max_attempts=5, backoff=[10, 60, 300])
async def send_welcome(email: str) -> str:
    """Would call the mail provider; here it only says what it sent."""
    return f"welcome mail sent to {email}"


@app.job(queue="emails")
async def follow_up(email: str, days: int = 1) -> str:
    return f"day-{days} follow-up sent to {email}"


@app.job(queue="reports")
async def build_report(seconds: float) -> str:
    """A long job (the shutdown test hands one back unfinished)."""
    await asyncio.sleep(seconds)
    return f"report built in {seconds}s"
