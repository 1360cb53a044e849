"""The schedule and edit forms of a message: what was typed (`Draft`, shown again when
something is wrong), and its check, field by field, with the kit's own rules (recipient,
text or template, time with its quick offsets or a local time in a zone, retries).

The check only places each error next to its field; the kit checks everything again when the
message is scheduled or edited, and nothing is stored unless all of it passes.
"""

from __future__ import annotations

import dataclasses
import functools
import zoneinfo
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson

from conveyor_commerce.errors import InvalidMessage
from conveyor_commerce.messages import timing
from conveyor_commerce.messages.model import Message
from conveyor_commerce.whatsapp import payloads

QUICK = {"+5m": "+5 min", "+30m": "+30 min", "+1h": "+1 h", "+1d": "+1 day"}
"""The quick offsets the form offers (the kit's `timing.QUICK_OFFSETS`), with their labels."""
KEEP, AT = "keep", "at"
MAX_FIELD = 5000
FIELDS = ("account", "to", "kind", "text", "template", "language", "params", "when", "at",
          "tz", "max_retries")


@dataclasses.dataclass(frozen=True, slots=True)
class Draft:
    """The form's fields as typed. `when` is a quick offset, "at" (local `at` in zone `tz`)
    or, when editing, "keep" (the message keeps its time)."""

    account: str = ""
    to: str = ""
    kind: str = "text"
    text: str = ""
    template: str = ""
    language: str = "en_US"
    params: str = ""
    when: str = "+5m"
    at: str = ""
    tz: str = "UTC"
    max_retries: str = "3"

    @classmethod
    def from_form(cls, form: Mapping[str, Any]) -> Draft:
        """The fields a form sent, as typed; a field it did not send keeps its default."""
        return cls(**{name: str(form[name])[:MAX_FIELD] for name in FIELDS
                      if form.get(name) is not None})

    @classmethod
    def of(cls, message: Message) -> Draft:
        """The edit form of `message`, filled with what it holds now."""
        content = message.content
        if isinstance(content, payloads.Text):
            return cls(account=str(message.account_id), to="+" + message.recipient,
                       text=content.body, when=KEEP, max_retries=str(message.max_retries))
        return cls(account=str(message.account_id), to="+" + message.recipient,
                   kind="template", template=content.name, language=content.language,
                   params=shown_params(content.body), when=KEEP,
                   max_retries=str(message.max_retries))


@dataclasses.dataclass(frozen=True, slots=True)
class Checked:
    """A draft that passed: the arguments of `messages.schedule` / `messages.edit`."""

    account: int
    to: str
    content: payloads.Content
    when: dict[str, Any]
    max_retries: int


def check(draft: Draft, now: datetime, min_lead: float,
          base: payloads.Content | None = None) -> tuple[Checked | None, dict[str, str]]:
    """The checked draft, or None and the error of each field that is wrong. `base`: the
    content being edited (a template keeps its header and buttons, which the form omits)."""
    errors: dict[str, str] = {}
    account = int(draft.account) if draft.account.isdigit() else None
    if account is None:
        errors["account"] = "choose the account that sends it"
    to = _field(errors, "to", lambda: payloads.normalize_number(draft.to))
    content = _field(errors, "content", lambda: payloads.check(_content(draft, base)))
    when = _field(errors, "when", lambda: _when(draft, now, min_lead))
    retries = draft.max_retries.strip()
    if not (retries.isdigit() and 0 <= int(retries) <= 5):
        errors["max_retries"] = "a whole number from 0 to 5"
    if errors or account is None or to is None or content is None or when is None:
        return None, errors
    return Checked(account, "+" + to, content, when, int(retries)), errors


def _field(errors: dict[str, str], name: str, work: Any) -> Any:
    try:
        return work()
    except InvalidMessage as exc:
        errors[name] = str(exc)
        return None


def _content(draft: Draft, base: payloads.Content | None) -> payloads.Content:
    if draft.kind == "text":
        return payloads.Text(draft.text)
    if draft.kind != "template":
        raise InvalidMessage(f"content kind {draft.kind!r}: text or template")
    body = tuple(_param(line.strip()) for line in draft.params.splitlines() if line.strip())
    kept = base if isinstance(base, payloads.Template) else payloads.Template("", "")
    return payloads.Template(draft.template.strip(), draft.language.strip(),
                             header=kept.header, body=body, buttons=kept.buttons)


def shown_params(params: Sequence[payloads.Param]) -> str:
    """Template parameters one a line: text as it is, a parameter object as JSON."""
    return "\n".join(p if isinstance(p, str) else orjson.dumps(p).decode() for p in params)


def _param(line: str) -> payloads.Param:
    """A line of the parameters field: text, or a parameter object written as JSON."""
    if not line.startswith("{"):
        return line
    try:
        found = orjson.loads(line)
    except orjson.JSONDecodeError:
        raise InvalidMessage(f"template parameter {line[:60]!r} starts with '{{' but is not "
                             "a JSON object") from None
    if not isinstance(found, dict):
        raise InvalidMessage(f"template parameter {line[:60]!r} is not a JSON object")
    return found


def _when(draft: Draft, now: datetime, min_lead: float) -> dict[str, Any]:
    """`{}` (keep the time), `{"offset": ...}` or `{"at": ..., "tz": ...}`, checked."""
    if draft.when == KEEP:
        return {}
    if draft.when in QUICK:
        chosen: dict[str, Any] = {"offset": draft.when}
    elif draft.when == AT:
        if not draft.at.strip():
            raise InvalidMessage("give the local date and time, or choose a quick offset")
        chosen = {"at": draft.at.strip(), "tz": draft.tz.strip() or "UTC"}
    else:
        raise InvalidMessage(f"when {draft.when!r}: a quick offset or a local time")
    due = timing.resolve(now, **chosen)
    timing.check_lead(due, now, min_lead)
    return chosen


@functools.cache
def zones() -> tuple[str, ...]:
    """Time zone names the form suggests (the system's IANA database)."""
    return tuple(sorted(zoneinfo.available_timezones()))
