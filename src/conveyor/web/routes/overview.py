"""Overview: per queue the jobs in each state and the oldest waiting age (flagged past the
threshold), totals, and the cards extensions add."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from conveyor import model
from conveyor.web.dashboard import dashboard_of

COLUMNS = (model.JobState.PENDING, model.JobState.SCHEDULED, model.JobState.AVAILABLE,
           model.JobState.RUNNING, model.JobState.RETRYABLE, model.JobState.DISCARDED,
           model.JobState.COMPLETED, model.JobState.CANCELLED)


def routes() -> list[BaseRoute]:
    return [Route("/", overview, methods=["GET"])]


async def overview(request: Request) -> Response:
    dashboard = dashboard_of(request)
    app = dashboard.conveyor
    stats = await app.admin.astats()
    paused = set((await app.admin.aflow()).paused_queues)
    queues: list[dict[str, Any]] = [{"name": queue,
               "counts": {state: stats.counts.get((queue, state), 0) for state in COLUMNS},
               "waiting": stats.waiting_seconds(queue), "paused": queue in paused}
              for queue in sorted(set(stats.queues()) | paused)]
    totals = {state: sum(q["counts"][state] for q in queues) for state in COLUMNS}
    return dashboard.render(request, "overview.html", {
        "queues": queues, "totals": totals, "columns": COLUMNS,
        "threshold": dashboard.config.wait_warning_seconds,
        "cards": await _cards(request)})


async def _cards(request: Request) -> list[dict[str, Any]]:
    dashboard = dashboard_of(request)
    found = []
    for page in dashboard.pages:
        for card in page.cards:
            found.append({"title": card.title, "template": card.template,
                          "card": await card.context(request)})
    return found
