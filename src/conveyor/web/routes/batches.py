"""Batches: progress bars that move while workers run (the page refreshes every 2 s while a
batch is unfinished), one batch's jobs, and cancel / retry as the logged-in user."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from conveyor import errors
from conveyor.backends.base import JobFilter
from conveyor.web.dashboard import conveyor_of, dashboard_of, redirect, user_of

LIVE_SECONDS = 2
JOBS_SHOWN = 100


def routes() -> list[BaseRoute]:
    return [Route("/batches", list_batches, methods=["GET"]),
            Route("/batches/{batch_id:int}", show, methods=["GET"]),
            Route("/batches/{batch_id:int}/cancel", cancel, methods=["POST"]),
            Route("/batches/{batch_id:int}/retry", retry, methods=["POST"])]


async def list_batches(request: Request) -> Response:
    found = await conveyor_of(request).abatches(limit=100)
    live = any(not b.finished and not b.cancelled for b in found)
    return dashboard_of(request).render(request, "batches.html", {
        "batches": found, "live": LIVE_SECONDS if live else 0})


async def show(request: Request) -> Response:
    app = conveyor_of(request)
    batch_id = int(request.path_params["batch_id"])
    try:
        batch = await app.aget_batch(batch_id)
    except errors.BatchNotFound as exc:
        return dashboard_of(request).render(request, "message.html",
                                            {"title": "No such batch", "text": str(exc)}, 404)
    jobs = await app.ajobs(JobFilter(batch_ids=[batch_id], limit=JOBS_SHOWN))
    live = not batch.finished and not batch.cancelled
    return dashboard_of(request).render(request, "batch.html", {
        "batch": batch, "jobs": jobs, "shown": JOBS_SHOWN, "live": LIVE_SECONDS if live else 0})


async def cancel(request: Request) -> Response:
    batch_id = int(request.path_params["batch_id"])
    try:
        count = await conveyor_of(request).acancel_batch(batch_id, actor=user_of(request).name)
    except errors.ConveyorError as exc:
        return redirect(request, "/batches", str(exc))
    return redirect(request, f"/batches/{batch_id}",
                    f"Cancelled batch {batch_id} ({count} jobs cancelled).")


async def retry(request: Request) -> Response:
    batch_id = int(request.path_params["batch_id"])
    try:
        count = await conveyor_of(request).aretry_batch(batch_id, actor=user_of(request).name)
    except errors.ConveyorError as exc:
        return redirect(request, "/batches", str(exc))
    return redirect(request, f"/batches/{batch_id}",
                    f"Retrying {count} jobs of batch {batch_id}.")
