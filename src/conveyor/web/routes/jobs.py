"""Jobs: the filtered list (filters in the query string, keyset pages newest or oldest
first), with row selection for actions, and the preview of a bulk action on the filter."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from conveyor import errors, model, views
from conveyor.web import filters
from conveyor.web.dashboard import conveyor_of, dashboard_of
from conveyor.web.routes import actions

PREVIEW_CAP = 10_001
"""A preview counts at most this many jobs (a text search on a huge table stays quick)."""


def routes() -> list[BaseRoute]:
    return [Route("/jobs", jobs, methods=["GET"]),
            Route("/jobs/preview", preview, methods=["GET"])]


async def jobs(request: Request) -> Response:
    query = filters.parse(request.query_params)
    problems = list(query.errors)
    try:
        page = await conveyor_of(request).admin.apage(
            query.parsed, order=query.order, cursor=query.cursor, limit=query.limit)
    except errors.ConveyorError as exc:  # a hand-edited cursor or search text
        problems.append(str(exc))
        page = views.JobPage([], None, None)
    return dashboard_of(request).render(request, "jobs.html", {
        "query": query, "page": page, "problems": problems, "states": list(model.JobState),
        "verbs": actions.VERBS, "page_sizes": filters.PAGE_SIZES})


async def preview(request: Request) -> Response:
    """How many jobs a bulk action on the filter would touch (only counts: a GET), and the
    form that confirms it."""
    dashboard = dashboard_of(request)
    query = filters.parse(request.query_params)
    verb = request.query_params.get("verb", "")
    if verb not in actions.VERBS:
        return dashboard.render(request, "message.html", {
            "title": "Unknown action", "text": f"There is no action {verb!r}."}, 400)
    if query.errors:
        return dashboard.render(request, "message.html", {
            "title": "Cannot preview", "text": "; ".join(query.errors)}, 400)
    target = actions.narrowed(request, verb, query.parsed)
    try:
        count = 0 if target is None else await conveyor_of(request).admin.acount(
            target, cap=PREVIEW_CAP)
    except errors.ConveyorError as exc:
        return dashboard.render(request, "message.html",
                                {"title": "Cannot preview", "text": str(exc)}, 400)
    return dashboard.render(request, "preview.html", {
        "query": query, "verb": verb, "label": actions.VERBS[verb], "count": count,
        "capped": count >= PREVIEW_CAP, "cap": PREVIEW_CAP - 1})
