"""Actions on jobs: retry, cancel, delete and run now, on selected rows (ids) or on every
job matching a filter (after its preview). Each goes through `app.admin.aapply` with the
logged-in user as the actor, so it lands in the audit table; the guard has already refused
read-only users and requests without the CSRF token."""

from __future__ import annotations

import dataclasses

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from conveyor import changes, errors, model
from conveyor.admin import ActionResult
from conveyor.backends.base import JobFilter
from conveyor.web import filters
from conveyor.web.dashboard import conveyor_of, dashboard_of, redirect, user_of
from conveyor.web.routes.login import safe_next

VERBS = {"retry": "Retry", "cancel": "Cancel", "delete": "Delete", "run-now": "Run now"}
RUN_NOW_FROM = (model.JobState.SCHEDULED, model.JobState.RETRYABLE)
PAST = {"retry": "retried", "cancel": "cancelled", "delete": "deleted", "run-now": "moved up"}
MAX_IDS = 1000
_CHANGES: dict[str, changes.Change] = {"retry": changes.RetryJobs(),
                                       "cancel": changes.CancelJobs(),
                                       "delete": changes.DeleteJobs()}


def routes() -> list[BaseRoute]:
    return [Route("/actions", on_selection, methods=["POST"]),
            Route("/actions/bulk", on_filter, methods=["POST"])]


def change_of(request: Request, verb: str) -> changes.Change:
    """The change a verb stands for. "Run now" is an edit of `run_at` to now."""
    if verb == "run-now":
        return changes.EditJobs(run_at=conveyor_of(request).clock.now())
    return _CHANGES[verb]


def narrowed(request: Request, verb: str, where: JobFilter) -> JobFilter | None:
    """`where` limited to the states the verb acts on (what a preview counts), or None when
    it can touch no job at all. Run now only moves jobs waiting on a time."""
    asked = tuple(where.states)
    if verb == "run-now":
        asked = tuple(s for s in (asked or RUN_NOW_FROM) if s in RUN_NOW_FROM)
        if not asked:
            return None
    states = changes.eligible_states(change_of(request, verb), asked)
    return dataclasses.replace(where, states=states) if states else None


async def apply(request: Request, verb: str, where: JobFilter) -> ActionResult:
    """Run `verb` on `where` as the logged-in user (recorded in the audit table)."""
    change = change_of(request, verb)
    target = narrowed(request, verb, where)
    if target is None:
        return ActionResult(change.verb, 0, False)
    return await conveyor_of(request).admin.aapply(change, target, actor=user_of(request).name)


async def on_selection(request: Request) -> Response:
    async with request.form() as form:
        verb, target = str(form.get("verb", "")), safe_next(str(form.get("next", "/jobs")))
        raw_ids = [str(v) for v in form.getlist("ids")][:MAX_IDS + 1]
    ids = [int(v) for v in raw_ids if v.isdigit()]
    if verb not in VERBS or not ids or len(ids) > MAX_IDS or len(ids) != len(raw_ids):
        return _bad(request, "Choose an action and between 1 and 1000 jobs.")
    return await _act(request, verb, JobFilter(ids=ids), target)


async def on_filter(request: Request) -> Response:
    async with request.form() as form:
        verb, target = str(form.get("verb", "")), safe_next(str(form.get("next", "/jobs")))
        query = filters.parse(form)
    if verb not in VERBS or query.errors:
        return _bad(request, "; ".join(query.errors) or f"There is no action {verb!r}.")
    return await _act(request, verb, query.parsed, target)


async def _act(request: Request, verb: str, where: JobFilter, target: str) -> Response:
    try:
        result = await apply(request, verb, where)
    except errors.ConveyorError as exc:
        return _bad(request, str(exc))
    noun = "job" if result.count == 1 else "jobs"
    return redirect(request, target, f"{PAST[verb].capitalize()} {result.count} {noun}.")


def _bad(request: Request, text: str) -> Response:
    return dashboard_of(request).render(request, "message.html",
                                        {"title": "Nothing was changed", "text": text}, 400)
