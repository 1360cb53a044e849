"""Cron: every schedule with its next runs and last fire; pause and resume."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from conveyor import errors
from conveyor.web.dashboard import conveyor_of, dashboard_of, redirect


def routes() -> list[BaseRoute]:
    return [Route("/cron", list_schedules, methods=["GET"]),
            Route("/cron/pause", pause, methods=["POST"])]


async def list_schedules(request: Request) -> Response:
    schedules = await conveyor_of(request).acron_schedules()
    return dashboard_of(request).render(request, "cron.html", {"schedules": schedules})


async def pause(request: Request) -> Response:
    """Form fields: `name` of the schedule and `paused` ("1" pause, "0" resume)."""
    async with request.form() as form:
        name, paused = str(form.get("name", "")), form.get("paused") == "1"
    try:
        await conveyor_of(request).apause_cron(name, paused)
    except errors.ConveyorError as exc:
        return redirect(request, "/cron", str(exc))
    return redirect(request, "/cron", f"{'Paused' if paused else 'Resumed'} schedule {name}.")
