"""Request validation of `POST /{version}/{phone_number_id}/messages`, after Meta's OpenAPI
description (`business-messaging-api_v23.0.yaml`, schemas `Message`, `TextMessage`,
`TemplateMessage`, `TemplateObject`, `LanguageObject`, `TemplateComponent`, parameters).

Where the schema and Meta's own examples of the same operation disagree, the examples show
what the API accepts: `recipient_type` (required by `BaseMessageProperties`) and
`language.policy` (required by `LanguageObject`) may be omitted - the "Send Test Message"
and "Send Message Template Text" examples do - but when present must hold an allowed value.
Everything else the schema requires is required, closed objects (`text`) reject unknown
keys, and limits are the schema's. Template checks against the registry come after, in the
app (132001, 132000, 132015, 132016, 132005).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from conveyor_commerce.sandbox.catalog import ApiFailure

MESSAGE_TYPES = ("text", "audio", "document", "image", "location", "video", "sticker",
                 "reaction", "interactive", "template", "contacts")
PARAMETER_TYPES = {"text": "text", "currency": "currency", "date_time": "date_time",
                   "image": "image", "video": "video", "document": "document"}
BUTTON_PARAMETER_TYPES = {"payload": "payload", "text": "text"}
_NUMBER = re.compile(r"^\+?\d{8,15}$")
TEXT_LIMIT = 4096
OPAQUE_LIMIT = 512


def invalid(details: str, code: int = 100) -> ApiFailure:
    return ApiFailure(code, details)


def message(body: Any) -> tuple[str, str]:
    """Check the body; returns (type, recipient digits). Raises `ApiFailure`."""
    if not isinstance(body, Mapping):
        raise invalid("The request body must be a JSON object.")
    if body.get("messaging_product") != "whatsapp":
        raise invalid("The parameter messaging_product is required and must be 'whatsapp'.")
    if body.get("recipient_type", "individual") not in ("individual", "group"):
        raise invalid("Param recipient_type must be one of {individual, group}.")
    to = body.get("to")
    if not isinstance(to, str) or not to:
        raise invalid("The parameter to is required.")
    if body.get("recipient_type", "individual") == "individual" and not _NUMBER.match(to):
        raise invalid(f"Param to is not a valid phone number: {to[:32]!r}.", 131009)
    kind = body.get("type", "text")
    if kind not in MESSAGE_TYPES:
        raise invalid(f"Param type must be one of {{{', '.join(MESSAGE_TYPES)}}}.")
    opaque = body.get("biz_opaque_callback_data")
    if opaque is not None and (not isinstance(opaque, str) or len(opaque) > OPAQUE_LIMIT):
        raise invalid(f"Param biz_opaque_callback_data must be a string of at most "
                      f"{OPAQUE_LIMIT} characters.")
    if not isinstance(body.get(kind), Mapping) and kind != "contacts":
        raise invalid(f"The parameter {kind} is required.", 131008)
    if kind == "text":
        _text(body["text"])
    elif kind == "template":
        _template(body["template"])
    return kind, to.lstrip("+")


def _text(text: Mapping[str, Any]) -> None:
    unknown = set(text) - {"body", "preview_url"}
    if unknown:
        raise invalid(f"Param text has unknown field(s): {', '.join(sorted(unknown))}.")
    value = text.get("body")
    if not isinstance(value, str) or not value:
        raise invalid("The parameter text['body'] is required.", 131008)
    if len(value) > TEXT_LIMIT:
        raise invalid(f"Param text['body'] must be at most {TEXT_LIMIT} characters long.")
    if "preview_url" in text and not isinstance(text["preview_url"], bool):
        raise invalid("Param text['preview_url'] must be a boolean.")


def _template(template: Mapping[str, Any]) -> None:
    name = template.get("name")
    if not isinstance(name, str) or not name:
        raise invalid("The parameter template['name'] is required.", 131008)
    language = template.get("language")
    if not isinstance(language, Mapping) or not isinstance(language.get("code"), str):
        raise invalid("The parameter template['language']['code'] is required.", 131008)
    if language.get("policy", "deterministic") != "deterministic":
        raise invalid("Param template['language']['policy'] must be 'deterministic'.")
    components = template.get("components", [])
    if not isinstance(components, list):
        raise invalid("Param template['components'] must be an array.")
    for position, component in enumerate(components):
        _component(position, component)


def _component(position: int, component: Any) -> None:
    where = f"template['components'][{position}]"
    if not isinstance(component, Mapping) or component.get("type") not in (
            "header", "body", "button"):
        raise invalid(f"Param {where}['type'] must be one of {{header, body, button}}.")
    parameters = component.get("parameters", [])
    if not isinstance(parameters, list):
        raise invalid(f"Param {where}['parameters'] must be an array.")
    if component["type"] == "button":
        if component.get("sub_type") not in ("quick_reply", "url", "catalog"):
            raise invalid(f"Param {where}['sub_type'] must be one of "
                          "{quick_reply, url, catalog}.", 131008)
        index = component.get("index")
        if not (isinstance(index, str | int) and str(index).isdigit() and int(index) <= 9):
            raise invalid(f"Param {where}['index'] is the button position 0-9.", 131008)
        if not parameters:
            raise invalid(f"Param {where}['parameters'] needs at least one item.", 131008)
        for item in parameters:
            _parameter(where, item, BUTTON_PARAMETER_TYPES)
        return
    if component["type"] == "header" and "parameters" in component and not parameters:
        raise invalid(f"Param {where}['parameters'] needs at least one item.", 131008)
    for item in parameters:
        _parameter(where, item, PARAMETER_TYPES)


def _parameter(where: str, item: Any, kinds: Mapping[str, str]) -> None:
    if not isinstance(item, Mapping) or item.get("type") not in kinds:
        raise invalid(f"Param {where}['parameters'][]['type'] must be one of "
                      f"{{{', '.join(kinds)}}}.")
    field = kinds[item["type"]]
    value = item.get(field)
    if value is None:
        raise invalid(f"The parameter {where}['parameters'][]['{field}'] is required.", 131008)
    if field in ("text", "payload"):
        if not isinstance(value, str) or not value:
            raise invalid(f"Param {where}['parameters'][]['{field}'] must be a non-empty "
                          "string.", 131009)
        if len(value) > 32768:
            raise invalid(f"Param {where}['parameters'][]['text'] is too long.")
    elif field == "currency":
        if not isinstance(value, Mapping) or not {"fallback_value", "code", "amount_1000"} \
                <= set(value) or not isinstance(value.get("amount_1000"), int):
            raise invalid("Param currency needs fallback_value, code and integer amount_1000.")
    elif field == "date_time":
        if not isinstance(value, Mapping) or "fallback_value" not in value:
            raise invalid("Param date_time needs a fallback_value.", 131008)
    elif not isinstance(value, Mapping) or not ("id" in value or "link" in value):
        raise invalid(f"Param {field} needs an id or a link.", 131008)


def parameter_counts(template: Mapping[str, Any]) -> tuple[int, int, dict[int, tuple[str, int]]]:
    """(header, body, {button index: (sub_type, count)}) of a checked template object."""
    header = body = 0
    buttons: dict[int, tuple[str, int]] = {}
    for component in template.get("components", []):
        count = len(component.get("parameters", []))
        if component["type"] == "header":
            header += count
        elif component["type"] == "body":
            body += count
        else:
            buttons[int(component["index"])] = (component["sub_type"], count)
    return header, body, buttons


def hydrated_length(text: str, template: Mapping[str, Any]) -> int:
    """Length of the template body text with its body parameters filled in."""
    values: list[str] = []
    for component in template.get("components", []):
        if component["type"] == "body":
            for item in component.get("parameters", []):
                field = PARAMETER_TYPES[item["type"]]
                value = item[field]
                values.append(value if isinstance(value, str)
                              else str(value.get("fallback_value", "")))
    return len(re.sub(r"\{\{(\d+)\}\}", lambda m: values[int(m[1]) - 1]
                      if 0 < int(m[1]) <= len(values) else m[0], text))
