"""Overview: per queue the jobs in each state and the oldest waiting age (flagged past the
threshold), jobs not started yet per job type, workers alive, and the cards extensions add."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import markupsafe
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from conveyor import model
from conveyor.metrics import Bucket
from conveyor.web import charts
from conveyor.web.dashboard import Dashboard, dashboard_of

S = model.JobState
COLUMNS = (S.PENDING, S.SCHEDULED, S.AVAILABLE, S.RUNNING, S.RETRYABLE, S.DISCARDED,
           S.COMPLETED, S.CANCELLED)
WAITING = (S.PENDING, S.SCHEDULED, S.AVAILABLE, S.RETRYABLE)
CHARTS: tuple[tuple[str, timedelta, Bucket, str], ...] = (
    ("Last hour, per minute", timedelta(hours=1), "minute", "%H:%M"),
    ("Last day, per hour", timedelta(days=1), "hour", "%H:00"))


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
        "charts": await _charts(dashboard), "cards": await _cards(request)})


async def _charts(dashboard: Dashboard) -> list[tuple[str, markupsafe.Markup]]:
    """Completed and failed jobs per minute over the last hour, per hour over the last day."""
    admin, now = dashboard.conveyor.admin, dashboard.conveyor.clock.now()
    found = []
    for title, span, bucket, label in CHARTS:
        points = await admin.ametrics(now - span, bucket=bucket)
        found.append((title, charts.bars(
            [charts.Bar(p.at.strftime(label), p.completed, p.failed) for p in points],
            f"Jobs completed and failed: {title.lower()} (UTC)")))
    return found


async def _cards(request: Request) -> list[dict[str, Any]]:
    dashboard = dashboard_of(request)
    found = []
    for page in dashboard.pages:
        for card in page.cards:
            found.append({"title": card.title, "template": card.template,
                          "card": await card.context(request)})
    return found
