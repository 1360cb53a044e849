"""The job page (arguments redacted, result, meta, errors with tracebacks, timeline, batch,
dependencies) and its edit form, whose values are checked - against the job's signature for
arguments - before anything is written; errors are shown next to the fields."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from conveyor import changes, errors, model, redact
from conveyor.web import templating
from conveyor.web.dashboard import conveyor_of, dashboard_of, redirect, user_of
from conveyor.web.routes import actions

EDIT_FIELDS = ("priority", "queue", "run_at", "args", "kwargs")


def routes() -> list[BaseRoute]:
    return [Route("/jobs/{job_id:int}", show, methods=["GET"]),
            Route("/jobs/{job_id:int}/edit", edit, methods=["POST"])]


async def show(request: Request) -> Response:
    return await _page(request, int(request.path_params["job_id"]), {}, {}, 200)


async def edit(request: Request) -> Response:
    job_id = int(request.path_params["job_id"])
    async with request.form() as form:
        typed = {name: str(form.get(name, "")).strip() for name in EDIT_FIELDS}
    try:
        job = await conveyor_of(request).aget(job_id)
    except errors.JobNotFound as exc:
        return _missing(request, exc)
    fields, problems = parse_edit(job, typed)
    if not problems and not fields:
        problems["form"] = "Nothing to change: every field is as it was."
    if not problems:
        try:
            await conveyor_of(request).admin.aedit(job_id, actor=user_of(request).name,
                                                   **fields)
        except errors.ConveyorError as exc:
            problems["form"] = str(exc)
    if problems:
        return await _page(request, job_id, typed, problems, 422)
    return redirect(request, f"/jobs/{job_id}", f"Edited job {job_id}.")


def parse_edit(job: model.Job, typed: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The fields that changed, parsed; and a message per field that could not be read."""
    fields: dict[str, Any] = {}
    problems: dict[str, str] = {}
    if typed["priority"] and typed["priority"] != str(job.priority):
        try:
            fields["priority"] = int(typed["priority"])
        except ValueError:
            problems["priority"] = "a whole number, e.g. 0 (lower runs first)"
    if typed["queue"] and typed["queue"] != job.queue:
        fields["queue"] = typed["queue"]
    if typed["run_at"] and typed["run_at"] != _run_at_text(job):
        try:
            moment = datetime.fromisoformat(typed["run_at"])
            fields["run_at"] = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        except ValueError:
            problems["run_at"] = "a time like 2026-05-01T09:00:00 (UTC) or with an offset"
    for name, kind, example in (("args", list, "[1, 2]"), ("kwargs", dict, '{"shop_id": 2}')):
        current = list(job.args) if name == "args" else dict(job.kwargs)
        if not typed[name]:
            continue
        try:
            value = unmask(orjson.loads(typed[name]), current)
        except orjson.JSONDecodeError as exc:
            problems[name] = f"not valid JSON ({exc}); e.g. {example}"
            continue
        if not isinstance(value, kind):
            problems[name] = f"a JSON {'list' if kind is list else 'object'}, e.g. {example}"
        elif value != current:
            fields[name] = value
    return fields, problems


def unmask(new: Any, old: Any) -> Any:
    """`new` with every masked secret ("***" where the form showed a redacted value) put
    back from `old`: the form never shows a secret, and saving it does not erase one."""
    if isinstance(new, dict) and isinstance(old, dict):
        return {k: old[k] if v == redact.MASK and redact.is_secret_key(k) and k in old
                else unmask(v, old.get(k)) for k, v in new.items()}
    if isinstance(new, list) and isinstance(old, list | tuple):
        return [unmask(v, old[i] if i < len(old) else None) for i, v in enumerate(new)]
    return new


async def _page(request: Request, job_id: int, typed: dict[str, str],
                problems: dict[str, str], status: int) -> Response:
    try:
        detail = await conveyor_of(request).admin.ajob_detail(job_id)
    except errors.JobNotFound as exc:
        return _missing(request, exc)
    job = detail.job
    form = typed or {"priority": str(job.priority), "queue": job.queue,
                     "run_at": _run_at_text(job), "args": templating.shown(list(job.args)),
                     "kwargs": templating.shown(dict(job.kwargs))}
    return dashboard_of(request).render(request, "job.html", {
        "job": job, "detail": detail, "form": form, "problems": problems,
        "editable": job.state in changes.EDITABLE, "verbs": actions.VERBS,
        "timeline": _timeline(job)}, status)


def _timeline(job: model.Job) -> list[tuple[str, datetime]]:
    moments = [("enqueued", job.inserted_at), ("due" if not job.is_final else "last due",
                                                job.run_at)]
    moments += [(f"attempt {e.attempt} failed ({e.type})", e.at) for e in job.errors]
    if job.attempted_at is not None:
        moments.append(("last attempt started", job.attempted_at))
    if job.finalized_at is not None:
        moments.append((job.state.value, job.finalized_at))
    return sorted(moments, key=lambda pair: pair[1])


def _missing(request: Request, exc: Exception) -> Response:
    return dashboard_of(request).render(request, "message.html",
                                        {"title": "No such job", "text": str(exc)}, 404)


def _run_at_text(job: model.Job) -> str:
    return job.run_at.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")
