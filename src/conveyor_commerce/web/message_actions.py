"""What changes messages from the dashboard: schedule, edit, cancel, retry and delete one
message, and the bulk actions - cancel (pending), retry (failed), delete (anything not being
sent) - over a selection or the list's filter, after a preview of how many it would touch.

The guard in front of the dashboard has already refused these POSTs to read-only users and
to requests without the CSRF token. A refused change (a bad field, a message in the wrong
status) answers 400 with the reason and changes nothing: the kit writes a message and its job
in one transaction, or neither.
"""

from __future__ import annotations

import dataclasses
import re
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from conveyor.web import redirect, render
from conveyor_commerce.errors import CommerceError, InvalidTransition, MessageNotFound
from conveyor_commerce.kit import Commerce
from conveyor_commerce.messages.model import Message
from conveyor_commerce.web import message_filters, message_forms, plugin
from conveyor_commerce.web.message_views import detail, problem, schedule_form
from conveyor_commerce.whatsapp.accounts import Account

VERBS = {"cancel": "Cancel", "retry": "Retry", "delete": "Delete"}
APPLIES = {"cancel": "pending", "retry": "failed", "delete": "not being sent"}
PAST = {"cancel": "Cancelled", "retry": "Retried", "delete": "Deleted"}
LIST = "/messages/"
_NEXT = re.compile(r"^/messages/[A-Za-z0-9_\-./?=&%+:]*$")

Outcome = tuple[Message | None, list[Account], dict[str, str]]


def routes() -> list[BaseRoute]:
    return [Route("/new", schedule, methods=["POST"]),
            Route("/preview", preview, methods=["GET"]),
            Route("/bulk", bulk, methods=["POST"]),
            Route("/{message_id:int}/edit", edit, methods=["POST"]),
            *(Route(f"/{{message_id:int}}/{verb}", one, methods=["POST"]) for verb in VERBS)]


async def schedule(request: Request) -> Response:
    async with request.form() as form:
        draft = message_forms.Draft.from_form(form)

    def work(kit: Commerce) -> Outcome:
        known = kit.accounts.list()
        checked, problems = message_forms.check(draft, kit.now(), kit.settings.min_lead)
        if checked is None:
            return None, known, problems
        try:
            return kit.messages.schedule(checked.account, checked.to, checked.content,
                                         max_retries=checked.max_retries,
                                         **checked.when), known, {}
        except CommerceError as exc:  # the account went away, the time passed meanwhile
            return None, known, {"form": str(exc)}

    message, known, problems = await plugin.call(request, work)
    if message is None:
        return render(request, "messages/new.html",
                      schedule_form(request, known, draft, problems), 400)
    return redirect(request, f"/messages/{message.id}", f"Scheduled message {message.id} "
                    f"for {message.scheduled_at:%Y-%m-%d %H:%M:%S} UTC.")


async def edit(request: Request) -> Response:
    message_id: int = request.path_params["message_id"]
    async with request.form() as form:
        typed = message_forms.Draft.from_form(form)

    def work(kit: Commerce) -> tuple[Message, list[Account], dict[str, str]]:
        current, known = kit.messages.get(message_id), kit.accounts.list()
        draft = dataclasses.replace(typed, account=str(current.account_id))
        checked, problems = message_forms.check(draft, kit.now(), kit.settings.min_lead,
                                                base=current.content)
        if checked is None:
            return current, known, problems
        try:
            kit.messages.edit(message_id, to=checked.to, content=checked.content,
                              max_retries=checked.max_retries, **checked.when)
        except CommerceError as exc:  # not editable any more, or the time passed meanwhile
            return current, known, {"form": str(exc)}
        return current, known, {}

    try:
        current, known, problems = await plugin.call(request, work)
    except MessageNotFound as exc:
        return problem(request, "Nothing was changed", str(exc), 404)
    if problems:
        return render(request, "messages/show.html",
                      detail(current, known, typed, problems), 400)
    return redirect(request, f"/messages/{message_id}", f"Edited message {message_id}.")


async def one(request: Request) -> Response:
    """Cancel, retry or delete one message (the verb is the last part of the path)."""
    message_id: int = request.path_params["message_id"]
    verb = request.url.path.rsplit("/", 1)[-1]
    async with request.form() as form:
        force = form.get("force") == "yes"

    def work(kit: Commerce) -> None:
        if verb == "retry":
            kit.messages.retry(message_id, force=force)
        else:
            getattr(kit.messages, verb)(message_id)

    try:
        await plugin.call(request, work)
    except (MessageNotFound, InvalidTransition) as exc:
        return problem(request, "Nothing was changed", str(exc))
    target = LIST if verb == "delete" else f"/messages/{message_id}"
    return redirect(request, target, f"{PAST[verb]} message {message_id}.")


async def preview(request: Request) -> Response:
    """How many messages a bulk action would change (only counts: a GET), and the form that
    confirms it."""
    verb = request.query_params.get("verb", "")
    query = message_filters.parse(request.query_params)
    if verb not in VERBS or query.errors:
        return problem(request, "Cannot preview",
                       "; ".join(query.errors) or f"There is no action {verb!r}.")
    count, known = await plugin.call(request, lambda kit: (
        kit.messages.preview(verb, query.parsed), kit.accounts.list()))
    return render(request, "messages/preview.html", {
        "verb": verb, "label": VERBS[verb], "applies": APPLIES[verb], "count": count,
        "query": query, "described": query.describe({a.id: a.name for a in known}),
        "next": safe_next(request.query_params.get("next"), query)})


async def bulk(request: Request) -> Response:
    async with request.form() as form:
        verb = str(form.get("verb", ""))
        query = message_filters.parse(form)
        back = safe_next(str(form.get("next") or ""), query)
    if verb not in VERBS or query.errors:
        return problem(request, "Nothing was changed",
                       "; ".join(query.errors) or f"There is no action {verb!r}.")
    result = await plugin.call(request, lambda kit: kit.messages.bulk(verb, query.parsed))
    noun = "message" if result.count == 1 else "messages"
    return redirect(request, back, f"{PAST[verb]} {result.count} {noun}.")


def safe_next(typed: str | None, query: message_filters.MessageQuery) -> str:
    """Where to go back after a bulk action: the list page it was started from (a path of
    the messages pages only), else the list with the action's filter."""
    if typed and _NEXT.match(typed) and "//" not in typed:
        return typed
    pairs = [(k, v) for k, v in query.fields() if k != "id"]
    return LIST + (f"?{urlencode(pairs)}" if pairs else "")
