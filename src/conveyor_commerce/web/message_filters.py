"""The messages list's filter as it lives in the URL - statuses, accounts, recipient, content
text and a range of scheduled times, or a selection of ids - parsed into a `MessageFilter`,
with the keyset position of the page (`before` / `after` a message id) and its size.

Bad values never reach the kit: each becomes a sentence shown above the list (escaped like
everything else) and its field is ignored. Sizes are bounded.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from starlette.datastructures import FormData, ImmutableMultiDict, QueryParams

from conveyor.web.filters import form_time
from conveyor_commerce.errors import InvalidMessage
from conveyor_commerce.messages.model import MessageFilter, MessageStatus
from conveyor_commerce.whatsapp.payloads import normalize_number

MAX_VALUES, MAX_TEXT, MAX_IDS = 20, 200, 500
PAGE_SIZES = (25, 50, 100, 200)
DEFAULT_SIZE = 50

Params = QueryParams | FormData | ImmutableMultiDict[str, Any]


@dataclasses.dataclass(frozen=True, slots=True)
class MessageQuery:
    """What the list was asked for: as typed (to fill the form again) and as parsed."""

    statuses: tuple[MessageStatus, ...] = ()
    accounts: tuple[int, ...] = ()
    to: str = ""
    text: str = ""
    since: str = ""
    until: str = ""
    ids: tuple[int, ...] = ()
    before: int | None = None
    after: int | None = None
    limit: int = DEFAULT_SIZE
    errors: tuple[str, ...] = ()
    parsed: MessageFilter = dataclasses.field(default_factory=MessageFilter)

    def params(self, **changes: Any) -> dict[str, Any]:
        """The query string of this view, without its page position."""
        values: dict[str, Any] = {
            "status": [s.value for s in self.statuses], "account": list(self.accounts),
            "to": self.to, "text": self.text, "since": self.since, "until": self.until,
            "id": list(self.ids), "limit": None if self.limit == DEFAULT_SIZE else self.limit}
        values.update(changes)
        return values

    def fields(self) -> list[tuple[str, str]]:
        """The filter as (name, value) pairs, for hidden inputs of a confirming form."""
        found = []
        for key, value in self.params(limit=None).items():
            for item in value if isinstance(value, list) else [value]:
                if item not in (None, ""):
                    found.append((key, str(item)))
        return found

    def describe(self, account_names: Mapping[int, str]) -> str:
        if self.ids:
            return f"{len(self.ids)} selected message{'' if len(self.ids) == 1 else 's'}"
        parts = [f"{label} {', '.join(values)}" for label, values in (
            ("status", [s.value for s in self.statuses]),
            ("account", [account_names.get(a, f"#{a}") for a in self.accounts])) if values]
        parts += [f"{label} {value}" for label, value in (
            ("to", self.to), ("containing", repr(self.text) if self.text else ""),
            ("scheduled since", self.since), ("scheduled before", self.until)) if value]
        return "; ".join(parts) or "all messages"


def parse(params: Params) -> MessageQuery:
    errors: list[str] = []
    statuses = tuple(_statuses(_many(params, "status"), errors))
    accounts = tuple(_ints(_many(params, "account"), "account", errors))
    ids = tuple(_ints(_many(params, "id", MAX_IDS + 1), "message id", errors))
    if len(ids) > MAX_IDS:
        errors.append(f"at most {MAX_IDS} messages can be selected at once")
        ids = ids[:MAX_IDS]
    to, text = _one(params, "to"), _one(params, "text")
    recipient = _recipient(to, errors)
    if "\x00" in text:
        errors.append("the text must not contain NUL; ignored")
        text = ""
    since, until = _one(params, "since"), _one(params, "until")
    parsed = MessageFilter(
        ids=ids, statuses=statuses, account_ids=accounts, recipient=recipient,
        text=text or None, scheduled_after=form_time(since, "since", errors),
        scheduled_before=form_time(until, "until", errors))
    return MessageQuery(
        statuses=statuses, accounts=accounts, to=to, text=text, since=since, until=until,
        ids=ids, before=_position(params, "before", errors),
        after=_position(params, "after", errors), limit=_limit(_one(params, "limit"), errors),
        errors=tuple(errors), parsed=parsed)


def _many(params: Params, key: str, most: int = MAX_VALUES) -> list[str]:
    values = [str(v).strip()[:MAX_TEXT] for v in params.getlist(key)][:most]
    return [v for v in values if v]


def _one(params: Params, key: str) -> str:
    value = params.get(key)
    return str(value).strip()[:MAX_TEXT] if value is not None else ""


def _statuses(values: list[str], errors: list[str]) -> list[MessageStatus]:
    found = []
    for value in values:
        try:
            found.append(MessageStatus(value))
        except ValueError:
            errors.append(f"unknown status {value!r} ignored")
    return found


def _ints(values: list[str], label: str, errors: list[str]) -> list[int]:
    found = [int(v) for v in values if v.isdigit() and len(v) < 19]
    if len(found) != len(values):
        errors.append(f"{label} must be a number; {len(values) - len(found)} value(s) ignored")
    return found


def _recipient(typed: str, errors: list[str]) -> str | None:
    if not typed:
        return None
    try:
        return normalize_number(typed)
    except InvalidMessage as exc:
        errors.append(f"{exc}; ignored")
        return None


def _position(params: Params, key: str, errors: list[str]) -> int | None:
    text = _one(params, key)
    if not text:
        return None
    if text.isdigit() and len(text) < 19:
        return int(text)
    errors.append(f"page position {key}={text!r} ignored")
    return None


def _limit(text: str, errors: list[str]) -> int:
    if not text:
        return DEFAULT_SIZE
    if text.isdigit() and int(text) in PAGE_SIZES:
        return int(text)
    errors.append(f"page size {text!r} ignored: choose one of {PAGE_SIZES}")
    return DEFAULT_SIZE
