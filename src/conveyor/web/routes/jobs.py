"""Jobs: the filtered list (filters in the query string, keyset pages, newest or oldest
first), with row selection for actions, and the preview of a bulk action on the filter."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from conveyor import errors, model
from conveyor.web import filters, listing
from conveyor.web.dashboard import dashboard_of
from conveyor.web.routes import actions


def routes() -> list[BaseRoute]:
    return [Route("/jobs", jobs, methods=["GET"]),
            Route("/jobs/preview", preview, methods=["GET"])]


async def jobs(request: Request) -> Response:
    dashboard = dashboard_of(request)
    query = filters.parse(request.query_params)
    page = await listing.fetch(dashboard.conveyor, query)
    return dashboard.render(request, "jobs.html", {
        "query": query, "page": page, "states": list(model.JobState),
        "verbs": actions.VERBS, "page_sizes": filters.PAGE_SIZES})


async def preview(request: Request) -> Response:
    """How many jobs a bulk action on the filter would touch; asks for confirmation. A GET:
    it only counts (a dry run of the same call the POST makes)."""
    dashboard = dashboard_of(request)
    query = filters.parse(request.query_params)
    verb = request.query_params.get("verb", "")
    if verb not in actions.VERBS:
        return dashboard.render(request, "message.html", {
            "title": "Unknown action", "text": f"There is no action {verb!r}."}, 400)
    try:
        result = await actions.apply(request, verb, query.parsed, dry_run=True)
    except errors.ConveyorError as exc:
        return dashboard.render(request, "message.html",
                                {"title": "Cannot preview", "text": str(exc)}, 400)
    return dashboard.render(request, "preview.html", {
        "query": query, "verb": verb, "label": actions.VERBS[verb], "count": result.count})
