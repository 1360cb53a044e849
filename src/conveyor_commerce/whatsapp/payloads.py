"""What a message says - text or template - checked before anything is stored, and turned
into the request body of `POST /{version}/{phone_number_id}/messages`.

The body follows the strict reading of Meta's OpenAPI description (`Message` ->
`TextMessage` / `TemplateMessage`): `recipient_type` and `language.policy` are sent although
Meta's own examples omit them, so the same body passes a strict and a lenient validator.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import phonenumbers

from conveyor_commerce.errors import InvalidMessage

TEXT_LIMIT = 4096
PARAM_LIMIT = 32768
"""`TextParameter.text` maxLength in the OpenAPI description."""
OPAQUE_LIMIT = 512
BUTTON_TYPES = ("quick_reply", "url", "catalog")
MEDIA_TYPES = ("image", "video", "document")
PARAM_FIELDS = {"text": "text", "currency": "currency", "date_time": "date_time",
                "image": "image", "video": "video", "document": "document",
                "payload": "payload"}

Param = str | Mapping[str, Any]


@dataclasses.dataclass(frozen=True, slots=True)
class Text:
    """A free-form text (allowed only inside the 24-hour customer-service window)."""

    body: str
    preview_url: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class Button:
    sub_type: str
    index: int
    parameters: tuple[Param, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class Template:
    """An approved template: `Template("order_update", "en_US", body=["Alex", "A12"])`.
    A parameter is a string (a text parameter; a payload for quick-reply buttons) or a
    parameter object in Meta's shape, e.g. `{"type": "currency", "currency": {...}}`."""

    name: str
    language: str
    header: tuple[Param, ...] = ()
    body: tuple[Param, ...] = ()
    buttons: tuple[Button, ...] = ()

    def __post_init__(self) -> None:
        for field in ("header", "body", "buttons"):
            object.__setattr__(self, field, tuple(getattr(self, field)))


Content = Text | Template


def normalize_number(number: str) -> str:
    """E.164 digits without `+` (what Meta expects in `to`); `InvalidMessage` otherwise."""
    if not isinstance(number, str) or not number.strip():
        raise InvalidMessage("recipient: a phone number is required, e.g. +48 600 100 200")
    text = number.strip()
    candidate = text if text.startswith("+") else "+" + text.lstrip("0")
    try:
        parsed = phonenumbers.parse(candidate, None)
    except phonenumbers.NumberParseException as exc:
        raise InvalidMessage(f"recipient {number!r} is not a phone number: {exc}") from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidMessage(f"recipient {number!r} is not a valid international number "
                             "(write it with its country code, e.g. +48 600 100 200)")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)[1:]


def check(content: Content) -> Content:
    """Refuse what Meta would refuse and we can know now; returns the content."""
    if isinstance(content, Text):
        _check_text("text", content.body, TEXT_LIMIT)
    elif isinstance(content, Template):
        _check_template(content)
    else:
        raise InvalidMessage(f"content must be Text or Template, got {type(content).__name__}")
    return content


def _check_text(field: str, value: Any, limit: int) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidMessage(f"{field}: must be a non-empty string")
    if len(value) > limit:
        raise InvalidMessage(f"{field}: {len(value)} characters, the limit is {limit}")
    if "\x00" in value:
        raise InvalidMessage(f"{field}: must not contain NUL characters")


def _check_template(template: Template) -> None:
    if not isinstance(template.name, str) or not template.name.strip() \
            or len(template.name) > 512:
        raise InvalidMessage("template name: a non-empty string of at most 512 characters")
    if not isinstance(template.language, str) or not 2 <= len(template.language) <= 15:
        raise InvalidMessage(f"template {template.name!r}: language code like 'en_US' required")
    for where, params in (("header", template.header), ("body", template.body)):
        for position, param in enumerate(params, 1):
            _param_object(f"template {template.name!r} {where} parameter {position}", param,
                          "text")
    seen: set[int] = set()
    for button in template.buttons:
        label = f"template {template.name!r} button {button.index}"
        if button.sub_type not in BUTTON_TYPES:
            raise InvalidMessage(f"{label}: sub_type must be one of {BUTTON_TYPES}")
        if type(button.index) is not int or not 0 <= button.index <= 9 or button.index in seen:
            raise InvalidMessage(f"{label}: index must be a distinct integer 0-9")
        seen.add(button.index)
        if not button.parameters:
            raise InvalidMessage(f"{label}: at least one parameter is required")
        kind = "payload" if button.sub_type == "quick_reply" else "text"
        for param in button.parameters:
            _param_object(label, param, kind)


def _param_object(label: str, param: Param, plain: str) -> dict[str, Any]:
    """A parameter in Meta's shape; a plain string becomes a `plain` ("text"/"payload") one."""
    if isinstance(param, str):
        _check_text(label, param, PARAM_LIMIT)
        return {"type": plain, plain: param}
    if not isinstance(param, Mapping):
        raise InvalidMessage(f"{label}: a string or a parameter object, got {param!r:.60}")
    kind = param.get("type")
    field = PARAM_FIELDS.get(kind) if isinstance(kind, str) else None
    if field is None or field not in param:
        raise InvalidMessage(f"{label}: type must be one of {sorted(PARAM_FIELDS)} with its "
                             f"object, e.g. {{'type': 'text', 'text': 'Alex'}}")
    value = param[field]
    if field in ("text", "payload"):
        _check_text(label, value, PARAM_LIMIT)
    elif field == "currency" and not (isinstance(value, Mapping) and {
            "fallback_value", "code", "amount_1000"} <= set(value)):
        raise InvalidMessage(f"{label}: currency needs fallback_value, code and amount_1000")
    elif field == "date_time" and not (isinstance(value, Mapping) and "fallback_value" in value):
        raise InvalidMessage(f"{label}: date_time needs a fallback_value")
    elif field in MEDIA_TYPES and not (isinstance(value, Mapping)
                                       and ("link" in value or "id" in value)):
        raise InvalidMessage(f"{label}: {field} needs a link or an id")
    return dict(param)


def request_body(to: str, content: Content, opaque: str | None = None) -> dict[str, Any]:
    """The JSON body of the send request."""
    body: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual",
                            "to": to}
    if isinstance(content, Text):
        body |= {"type": "text", "text": {"preview_url": content.preview_url,
                                          "body": content.body}}
    else:
        body |= {"type": "template", "template": _template_object(content)}
    if opaque:
        body["biz_opaque_callback_data"] = opaque[:OPAQUE_LIMIT]
    return body


def _template_object(template: Template) -> dict[str, Any]:
    components: list[dict[str, Any]] = []
    if template.header:
        components.append({"type": "header", "parameters": [
            _param_object("header", p, "text") for p in template.header]})
    if template.body:
        components.append({"type": "body", "parameters": [
            _param_object("body", p, "text") for p in template.body]})
    for button in template.buttons:
        kind = "payload" if button.sub_type == "quick_reply" else "text"
        components.append({"type": "button", "sub_type": button.sub_type,
                           "index": str(button.index),
                           "parameters": [_param_object("button", p, kind)
                                          for p in button.parameters]})
    out: dict[str, Any] = {"name": template.name,
                           "language": {"policy": "deterministic", "code": template.language}}
    if components:
        out["components"] = components
    return out


# -- storage form -------------------------------------------------------------------------


def dump(content: Content) -> tuple[str, str]:
    """(kind, JSON) for the messages table."""
    if isinstance(content, Text):
        return "text", orjson.dumps(dataclasses.asdict(content)).decode()
    data = {"name": content.name, "language": content.language,
            "header": list(content.header), "body": list(content.body),
            "buttons": [{"sub_type": b.sub_type, "index": b.index,
                         "parameters": list(b.parameters)} for b in content.buttons]}
    return "template", orjson.dumps(data).decode()


def load(kind: str, stored: str) -> Content:
    data = orjson.loads(stored)
    if kind == "text":
        return Text(**data)
    return Template(name=data["name"], language=data["language"],
                    header=tuple(data.get("header", ())), body=tuple(data.get("body", ())),
                    buttons=tuple(Button(b["sub_type"], b["index"], tuple(b["parameters"]))
                                  for b in data.get("buttons", ())))


def template_from(name: str, language: str, body: Sequence[Param] = (),
                  header: Sequence[Param] = (), buttons: Sequence[Button] = ()) -> Template:
    return Template(name, language, tuple(header), tuple(body), tuple(buttons))
