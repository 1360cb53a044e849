"""The messages pages: the filtered list (filters in the URL, keyset pages newest first),
one message with its edit form, the schedule form, the accounts' status, and the overview
card (pending / sent today / failed). What changes anything is in `message_actions`.

Every kit call runs in a worker thread (`plugin.call`); nothing here reads a token: accounts
are listed as `Account` values, which do not hold one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from conveyor import redact
from conveyor.web import Card, Page, render
from conveyor_commerce.errors import MessageNotFound
from conveyor_commerce.kit import Commerce
from conveyor_commerce.messages.model import Message, MessageFilter
from conveyor_commerce.messages.model import MessageStatus as M
from conveyor_commerce.web import message_actions, message_filters, message_forms, plugin
from conveyor_commerce.web.message_views import common, detail, problem, schedule_form
from conveyor_commerce.whatsapp.accounts import Account

TEMPLATES = Path(__file__).parent / "templates" / "messages"


def page() -> Page:
    return Page(
        slug="messages", label="Messages", templates=TEMPLATES,
        routes=[Route("/", listing, methods=["GET"]),
                Route("/new", new, methods=["GET"]),
                Route("/accounts", accounts, methods=["GET"]),
                Route("/{message_id:int}", show, methods=["GET"]),
                *message_actions.routes()],
        cards=[Card("WhatsApp messages", "messages/card.html", card)])


@dataclasses.dataclass(frozen=True, slots=True)
class Listing:
    messages: list[Message]
    newer: int | None
    """The first id of this page when newer messages exist (link: `after=`)."""
    older: int | None
    """The last id of this page when older messages exist (link: `before=`)."""


async def listing(request: Request) -> Response:
    query = message_filters.parse(request.query_params)
    found, known = await plugin.call(request, lambda kit: (_page(kit, query),
                                                           kit.accounts.list()))
    return render(request, "messages/list.html", {
        **common(known), "query": query, "listing": found, "statuses": list(M),
        "page_sizes": message_filters.PAGE_SIZES, "verbs": message_actions.VERBS})


def _page(kit: Commerce, query: message_filters.MessageQuery) -> Listing:
    size, where = query.limit, query.parsed
    if query.after is not None:  # the page of newer messages, read upwards
        rows = kit.messages.list(where, limit=size + 1, after_id=query.after,
                                 newest_first=False)
        shown = rows[:size][::-1]
        newer = shown[0].id if len(rows) > size else None
        return Listing(shown, newer, shown[-1].id if shown else None)
    rows = kit.messages.list(where, limit=size + 1, after_id=query.before)
    shown = rows[:size]
    newer = shown[0].id if shown and query.before is not None else None
    return Listing(shown, newer, shown[-1].id if len(rows) > size else None)


async def show(request: Request) -> Response:
    message_id: int = request.path_params["message_id"]
    found = await plugin.call(request, lambda kit: _one(kit, message_id))
    if found is None:
        return problem(request, "No such message", f"There is no message {message_id}.", 404)
    message, known = found
    return render(request, "messages/show.html", detail(message, known))


def _one(kit: Commerce, message_id: int) -> tuple[Message, list[Account]] | None:
    try:
        message = kit.messages.get(message_id)
    except MessageNotFound:
        return None
    return message, kit.accounts.list()


async def new(request: Request) -> Response:
    known = await plugin.call(request, lambda kit: kit.accounts.list())
    chosen = request.query_params.get("account", "")
    draft = message_forms.Draft(account=chosen if chosen.isdigit() else _first(known))
    return render(request, "messages/new.html", schedule_form(request, known, draft, {}))


def _first(known: list[Account]) -> str:
    return str(known[0].id) if known else ""


async def accounts(request: Request) -> Response:
    def read(kit: Commerce) -> list[tuple[Account, int, int]]:
        return [(a, kit.messages.count(MessageFilter(account_ids=[a.id], statuses=[M.PENDING])),
                 kit.messages.count(MessageFilter(account_ids=[a.id], statuses=[M.FAILED])))
                for a in kit.accounts.list()]

    rows = await plugin.call(request, read)
    return render(request, "messages/accounts.html", {
        **common([a for a, _, _ in rows]), "rows": rows, "shown_url": redact.url})


async def card(request: Request) -> Mapping[str, Any]:
    """The overview card: messages pending, sent today (UTC) and failed."""
    def read(kit: Commerce) -> dict[str, Any]:
        midnight = datetime.combine(kit.now().astimezone(UTC).date(), time(), tzinfo=UTC)
        return {"pending": kit.messages.count(MessageFilter(statuses=[M.PENDING])),
                "sent_today": kit.messages.count(MessageFilter(statuses=[M.SENT],
                                                               sent_after=midnight)),
                "failed": kit.messages.count(MessageFilter(statuses=[M.FAILED])),
                "stopped": sum(1 for a in kit.accounts.list() if a.status != "active")}

    return await plugin.call(request, read)
