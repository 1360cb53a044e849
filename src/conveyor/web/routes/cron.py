"""Cron: every schedule with its next runs and last fire; pause, resume and run now."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from conveyor import errors
from conveyor.web.dashboard import conveyor_of, dashboard_of, redirect, user_of


def routes() -> list[BaseRoute]:
    return [Route("/cron", list_schedules, methods=["GET"]),
            Route("/cron/pause", pause, methods=["POST"]),
            Route("/cron/run", run_now, methods=["POST"])]


async def list_schedules(request: Request) -> Response:
    schedules = await conveyor_of(request).acron_schedules()
    return dashboard_of(request).render(request, "cron.html", {"schedules": schedules})


async def pause(request: Request) -> Response:
    """Form fields: `name` of the schedule and `paused` ("1" pause, "0" resume)."""
    async with request.form() as form:
        name, paused = str(form.get("name", "")), form.get("paused") == "1"
    try:
        await conveyor_of(request).apause_cron(name, paused, actor=user_of(request).name)
    except errors.ConveyorError as exc:
        return redirect(request, "/cron", str(exc))
    return redirect(request, "/cron", f"{'Paused' if paused else 'Resumed'} schedule {name}.")


async def run_now(request: Request) -> Response:
    """Enqueue the schedule's job now, outside its slots (form field `name`)."""
    async with request.form() as form:
        name = str(form.get("name", ""))
    try:
        job = await conveyor_of(request).admin.arun_cron(name, actor=user_of(request).name)
    except errors.ConveyorError as exc:
        return redirect(request, "/cron", str(exc))
    return redirect(request, "/cron", f"Enqueued job {job.id} for schedule {name}.")
