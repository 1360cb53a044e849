"""Overview: per queue the jobs in each state and the oldest waiting age (flagged past the
threshold), jobs not started yet per job type, workers alive, and the cards extensions add."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from conveyor import model
from conveyor.web.dashboard import dashboard_of

S = model.JobState
COLUMNS = (S.PENDING, S.SCHEDULED, S.AVAILABLE, S.RUNNING, S.RETRYABLE, S.DISCARDED,
           S.COMPLETED, S.CANCELLED)
WAITING = (S.PENDING, S.SCHEDULED, S.AVAILABLE, S.RETRYABLE)


def routes() -> list[BaseRoute]:
    return [Route("/", overview, methods=["GET"])]


async def overview(request: Request) -> Response:
    dashboard = dashboard_of(request)
    found = await dashboard.conveyor.admin.aoverview()
    totals = {state: sum(q.counts.get(state, 0) for q in found.queues) for state in COLUMNS}
    by_name = sorted(((name, counts) for name, counts in found.waiting_by_name.items()),
                     key=lambda item: (-sum(item[1].values()), item[0]))
    return dashboard.render(request, "overview.html", {
        "overview": found, "totals": totals, "columns": COLUMNS, "waiting_states": WAITING,
        "by_name": by_name, "threshold": dashboard.config.wait_warning_seconds,
        "cards": await _cards(request)})


async def _cards(request: Request) -> list[dict[str, Any]]:
    dashboard = dashboard_of(request)
    found = []
    for page in dashboard.pages:
        for card in page.cards:
            found.append({"title": card.title, "template": card.template,
                          "card": await card.context(request)})
    return found
