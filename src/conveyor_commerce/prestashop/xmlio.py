"""The Webservice's XML, both ways: the bodies of POST and PUT (core PrestaShop parses XML
only), and the XML answers and errors a shop sends when JSON output is not honoured.

A resource is a plain dict, in the shape PrestaShop's JSON output gives it: scalars as strings,
multilingual fields as `[{"id": "1", "value": "..."}]`, and `associations` as
`{"categories": [{"id": "12"}, ...]}`. Text is written escaped rather than in CDATA; both are
the same XML to `SimpleXMLElement`.

Parsing uses the standard library's expat, whose entity-expansion limits (expat >= 2.4.1)
stop entity bombs; documents with a DOCTYPE are refused outright.
"""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

XLINK = "http://www.w3.org/1999/xlink"
SINGULAR = {"products": "product", "categories": "category",
            "stock_availables": "stock_available", "images": "image",
            "combinations": "combination", "product_option_values": "product_option_value"}
"""The element name of one item of each resource or association list."""


class XmlError(ValueError):
    """A body that is not the Webservice's XML."""


def singular(resource: str) -> str:
    return SINGULAR.get(resource, resource.removesuffix("s"))


def dumps(resource: str, fields: dict[str, Any]) -> bytes:
    """`<prestashop><product>...</product></prestashop>` for `fields`."""
    root = ET.Element("prestashop", {"xmlns:xlink": XLINK})
    _fill(ET.SubElement(root, singular(resource)), fields)
    text: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return text


def _fill(node: ET.Element, fields: dict[str, Any]) -> None:
    for name, value in fields.items():
        child = ET.SubElement(node, name)
        if name == "associations" and isinstance(value, dict):
            for group, items in value.items():
                holder = ET.SubElement(child, group)
                for item in items or ():
                    _fill(ET.SubElement(holder, singular(group)), dict(item))
        elif isinstance(value, list):
            for entry in value:
                language = ET.SubElement(child, "language", {"id": str(entry["id"])})
                language.text = _text(entry.get("value"))
        else:
            child.text = _text(value)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def loads(body: bytes | str, resource: str) -> dict[str, Any]:
    """The one resource in a `<prestashop><product>...` document, as a dict."""
    root = _parse(body)
    node = root.find(singular(resource))
    if root.tag != "prestashop" or node is None:
        raise XmlError(f"expected <prestashop><{singular(resource)}>, got <{root.tag}>")
    return _read(node)


def _parse(body: bytes | str) -> ET.Element:
    raw = body.encode() if isinstance(body, str) else body
    if b"<!DOCTYPE" in raw[:2048].upper():
        raise XmlError("a DOCTYPE is not accepted")
    try:
        return ET.fromstring(raw)
    except ET.ParseError as exc:
        raise XmlError(f"malformed XML: {exc}") from None


def _read(node: ET.Element) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for child in node:
        if child.tag == "associations":
            found["associations"] = {group.tag: [_read(item) for item in group]
                                     for group in child}
        elif len(child) and all(item.tag == "language" for item in child):
            found[child.tag] = [{"id": item.get("id", ""), "value": item.text or ""}
                                for item in child]
        else:
            found[child.tag] = (child.text or "").strip()
    return found


def errors(body: bytes | str) -> list[tuple[int | None, str]]:
    """(code, message) of each `<errors><error>` in an XML error answer; empty if none."""
    try:
        root = _parse(body)
    except XmlError:
        return []
    found = []
    for error in root.iter("error"):
        code = (error.findtext("code") or "").strip()
        found.append((int(code) if code.isdigit() else None,
                      (error.findtext("message") or "").strip()))
    return found


def error_body(code: int, message: str) -> bytes:
    """An XML error answer, as the Webservice writes it."""
    root = ET.Element("prestashop", {"xmlns:xlink": XLINK})
    error = ET.SubElement(ET.SubElement(root, "errors"), "error")
    ET.SubElement(error, "code").text = str(code)
    ET.SubElement(error, "message").text = message
    text: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return text
