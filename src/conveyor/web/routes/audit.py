"""Audit: every operator action (who, when, what, on which filter, how many jobs), newest
first, filtered by actor or job in the query string, paged by keyset."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from conveyor import errors
from conveyor.web.dashboard import conveyor_of, dashboard_of

PAGE = 50


def routes() -> list[BaseRoute]:
    return [Route("/audit", show, methods=["GET"])]


async def show(request: Request) -> Response:
    params = request.query_params
    actor = (params.get("actor") or "").strip()[:200] or None
    job_text = (params.get("job") or "").strip()
    job_id = int(job_text) if job_text.isdigit() else None
    problem = None if job_id is not None or not job_text else f"job {job_text!r} is not an id"
    try:
        page = await conveyor_of(request).admin.aaudit(
            cursor=params.get("cursor") or None, limit=PAGE, actor=actor, job_id=job_id)
    except errors.ConveyorError as exc:
        return dashboard_of(request).render(request, "message.html",
                                            {"title": "Cannot list the audit", "text": str(exc)},
                                            400)
    return dashboard_of(request).render(request, "audit.html", {
        "page": page, "actor": actor or "", "job": job_text, "problem": problem})
