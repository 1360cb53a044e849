"""Export the filtered job list as CSV or JSON, streamed (any size in bounded memory), with
secrets redacted as on the pages. CSV cells that a spreadsheet would run as a formula are
prefixed with a quote."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from conveyor import model, redact
from conveyor.web import filters
from conveyor.web.dashboard import conveyor_of

COLUMNS = ("id", "name", "queue", "state", "priority", "attempt", "max_attempts", "args",
           "kwargs", "inserted_at", "run_at", "attempted_at", "finalized_at", "last_error")
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def routes() -> list[BaseRoute]:
    return [Route("/jobs/export.csv", export_csv, methods=["GET"]),
            Route("/jobs/export.json", export_json, methods=["GET"])]


def record(job: model.Job) -> dict[str, Any]:
    """One exported job: what the list shows, arguments redacted."""
    last = job.errors[-1] if job.errors else None
    return {
        "id": job.id, "name": job.name, "queue": job.queue, "state": job.state.value,
        "priority": job.priority, "attempt": job.attempt, "max_attempts": job.max_attempts,
        "args": redact.value(list(job.args)), "kwargs": redact.value(dict(job.kwargs)),
        "inserted_at": _iso(job.inserted_at), "run_at": _iso(job.run_at),
        "attempted_at": _iso(job.attempted_at), "finalized_at": _iso(job.finalized_at),
        "last_error": f"{last.type}: {last.message}" if last else None}


async def export_csv(request: Request) -> Response:
    query = filters.parse(request.query_params)
    if query.errors:
        return PlainTextResponse("; ".join(query.errors), 400)

    async def lines() -> AsyncIterator[str]:
        yield _csv_line(COLUMNS)
        async for job in conveyor_of(request).admin.aiter_jobs(query.parsed, query.order):
            row = record(job)
            yield _csv_line([_cell(row[c]) for c in COLUMNS])

    return StreamingResponse(lines(), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": 'attachment; filename="jobs.csv"'})


async def export_json(request: Request) -> Response:
    query = filters.parse(request.query_params)
    if query.errors:
        return PlainTextResponse("; ".join(query.errors), 400)

    async def chunks() -> AsyncIterator[bytes]:
        yield b"["
        first = True
        async for job in conveyor_of(request).admin.aiter_jobs(query.parsed, query.order):
            yield (b"\n" if first else b",\n") + orjson.dumps(record(job), default=str)
            first = False
        yield b"\n]\n"

    return StreamingResponse(chunks(), media_type="application/json",
                             headers={"Content-Disposition": 'attachment; filename="jobs.json"'})


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return "'" + value if value.startswith(_FORMULA) else value
    if isinstance(value, list | dict):
        return orjson.dumps(value, default=str).decode()
    return str(value)


def _csv_line(values: Any) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(values)
    return buffer.getvalue()


def _iso(moment: Any) -> str | None:
    return None if moment is None else moment.isoformat()
