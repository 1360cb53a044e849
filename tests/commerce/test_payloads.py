"""Request bodies follow the strict reading of Meta's OpenAPI description; what can be checked
before sending is checked before anything is stored."""

from __future__ import annotations

import pytest

from conveyor_commerce import Button, InvalidMessage, Template, Text
from conveyor_commerce.messages import timing
from conveyor_commerce.sandbox import validation
from conveyor_commerce.whatsapp import payloads


def test_numbers_become_e164_digits() -> None:
    for given in ("+48 600 100 200", "48600100200", "+48-600-100-200", "0048600100200"):
        assert payloads.normalize_number(given) == "48600100200"
    for bad in ("", "abc", "+1 555 123 4567", "12"):
        with pytest.raises(InvalidMessage):
            payloads.normalize_number(bad)


def test_text_body_has_the_schema_shape() -> None:
    body = payloads.request_body("48600100200", Text("Hi"), "conveyor:msg:1:job:2")
    assert body == {"messaging_product": "whatsapp", "recipient_type": "individual",
                    "to": "48600100200", "type": "text",
                    "text": {"preview_url": False, "body": "Hi"},
                    "biz_opaque_callback_data": "conveyor:msg:1:job:2"}
    assert validation.message(body) == ("text", "48600100200")


def test_template_body_has_the_schema_shape() -> None:
    template = Template("cart_reminder", "en_US",
                        header=[{"type": "image", "image": {"link": "https://x/p.jpg"}}],
                        body=["shoes", {"type": "currency", "currency": {
                            "fallback_value": "$1", "code": "USD", "amount_1000": 1000}}],
                        buttons=[Button("url", 0, ("A12",)),
                                 Button("quick_reply", 1, ("STOP",))])
    body = payloads.request_body("48600100200", payloads.check(template))
    assert body["template"]["language"] == {"policy": "deterministic", "code": "en_US"}
    components = body["template"]["components"]
    assert [c["type"] for c in components] == ["header", "body", "button", "button"]
    assert components[2] == {"type": "button", "sub_type": "url", "index": "0",
                             "parameters": [{"type": "text", "text": "A12"}]}
    assert components[3]["parameters"] == [{"type": "payload", "payload": "STOP"}]
    assert validation.message(body)[0] == "template"
    assert payloads.load(*payloads.dump(template)) == template


@pytest.mark.parametrize("content", [
    Text(""), Text("x" * 4097), Text("a\x00b"),
    Template("", "en_US"), Template("t", "x"),
    Template("t", "en_US", body=[{"type": "currency", "currency": {"code": "USD"}}]),
    Template("t", "en_US", body=[{"type": "video"}]),
    Template("t", "en_US", buttons=[Button("call", 0, ("x",))]),
    Template("t", "en_US", buttons=[Button("url", 0, ())]),
    Template("t", "en_US", buttons=[Button("url", 0, ("a",)), Button("url", 0, ("b",))]),
])
def test_what_cannot_succeed_is_refused(content: payloads.Content) -> None:
    with pytest.raises(InvalidMessage):
        payloads.check(content)


def test_offsets_and_zones() -> None:
    assert [timing.offset_seconds(o) for o in timing.QUICK_OFFSETS] == [300, 1800, 3600, 86400]
    assert timing.offset_seconds("+90s") == 90 and timing.offset_seconds(12) == 12
    with pytest.raises(InvalidMessage, match="unknown"):
        timing.zone("Mars/Olympus")


def test_the_package_exports_what_it_lists() -> None:
    import conveyor_commerce

    assert sorted(conveyor_commerce.__all__) == sorted(conveyor_commerce._HOME_OF)
    for name in conveyor_commerce.__all__:
        assert getattr(conveyor_commerce, name).__name__ == name
    with pytest.raises(AttributeError):
        conveyor_commerce.Nothing  # noqa: B018
