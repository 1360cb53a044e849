"""What the messages templates are given: account names, the colour of each status, a
message with its actions and edit form, the schedule form, and the page for a refusal. Shared
by the reading routes (`messages`) and the acting ones (`message_actions`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from conveyor.web import render
from conveyor_commerce.messages.model import DELETABLE, EDITABLE, Message
from conveyor_commerce.messages.model import MessageStatus as M
from conveyor_commerce.web import message_forms, plugin
from conveyor_commerce.whatsapp import codes
from conveyor_commerce.whatsapp.accounts import Account

BADGES = {M.PENDING: "scheduled", M.PROCESSING: "running", M.SENT: "completed",
          M.FAILED: "discarded", M.CANCELLED: "cancelled"}
"""The dashboard's state colour each message status is shown in."""


def common(known: list[Account]) -> dict[str, Any]:
    """What every messages page shows: account names and how statuses are coloured."""
    return {"accounts": known, "account_names": {a.id: a.name for a in known},
            "account_of": {a.id: a for a in known},
            "badges": {s.value: b for s, b in BADGES.items()}}


def detail(message: Message, known: list[Account], draft: message_forms.Draft | None = None,
           problems: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The message page: the message, the actions its status allows, its edit form."""
    return {**common(known), "message": message, "editable": message.status in EDITABLE,
            "deletable": message.status in DELETABLE,
            "hopeless": message.error_code in codes.HOPELESS,
            "draft": draft or message_forms.Draft.of(message), "problems": problems or {},
            "quick": message_forms.QUICK, "zones": message_forms.zones()}


def schedule_form(request: Request, known: list[Account], draft: message_forms.Draft,
                  problems: Mapping[str, str]) -> dict[str, Any]:
    return {**common(known), "draft": draft, "problems": problems,
            "quick": message_forms.QUICK, "zones": message_forms.zones(),
            "min_lead": plugin.kit_of(request).settings.min_lead}


def problem(request: Request, title: str, text: str, status: int = 400) -> Response:
    """A page saying what was refused (and that nothing changed)."""
    return render(request, "messages/problem.html", {"title": title, "text": text}, status)
