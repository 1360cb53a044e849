"""`/metrics`: the Prometheus text of `conveyor.prometheus`, for a logged-in user or for a
scraper holding `CONVEYOR_DASHBOARD_METRICS_TOKEN` as a bearer token."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from conveyor import prometheus
from conveyor.web.dashboard import conveyor_of


def routes() -> list[BaseRoute]:
    return [Route("/metrics", scrape, methods=["GET"])]


async def scrape(request: Request) -> Response:
    body = await prometheus.aprometheus_text(conveyor_of(request))
    return Response(body, media_type=prometheus.CONTENT_TYPE)
