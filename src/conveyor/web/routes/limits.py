"""Limits: rate keys (next slot, blocked until, waiting jobs, paused) and queues; pause and
resume either, as the logged-in user."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from conveyor import errors
from conveyor.web.dashboard import conveyor_of, dashboard_of, redirect, user_of

MAX_NAME = 200


def routes() -> list[BaseRoute]:
    return [Route("/limits", show, methods=["GET"]),
            Route("/limits/pause", pause, methods=["POST"])]


async def show(request: Request) -> Response:
    app = conveyor_of(request)
    state = await app.admin.alimits()
    stats = await app.admin.astats()
    queues = sorted(set(stats.queues()) | set(state.paused_queues))
    return dashboard_of(request).render(request, "limits.html", {
        "keys": state.keys, "queues": queues, "paused_queues": set(state.paused_queues)})


async def pause(request: Request) -> Response:
    """Form fields: `queue` or `key`, and `paused` ("1" pause, "0" resume)."""
    async with request.form() as form:
        queue, key = str(form.get("queue", "")), str(form.get("key", ""))
        paused = form.get("paused") == "1"
    if bool(queue) == bool(key) or len(queue) > MAX_NAME or len(key) > MAX_NAME:
        return redirect(request, "/limits", "Give one queue or one key to pause or resume.")
    try:
        changed = await conveyor_of(request).admin.apause(
            queue=queue or None, key=key or None, paused=paused, actor=user_of(request).name)
    except errors.ConveyorError as exc:
        return redirect(request, "/limits", str(exc))
    return redirect(request, "/limits",
                    f"{'Paused' if paused else 'Resumed'} {', '.join(changed)}.")
