"""Workers: host, pid, queues, concurrency, when each started, its last heartbeat and the
jobs it runs now."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from conveyor.web.dashboard import conveyor_of, dashboard_of


def routes() -> list[BaseRoute]:
    return [Route("/workers", show, methods=["GET"])]


async def show(request: Request) -> Response:
    workers = await conveyor_of(request).admin.aworkers()
    return dashboard_of(request).render(request, "workers.html", {"workers": workers})
