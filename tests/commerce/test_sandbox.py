"""The sandbox follows Meta's OpenAPI description of `POST /{Version}/{Phone-Number-ID}/
messages`: what it rejects is rejected with Meta's error shape, what it accepts is answered
in `MessageResponsePayload`'s shape, and its throughput and templates behave as Meta's."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from conveyor_commerce.sandbox import SandboxServer
from tests.commerce.conftest import NUMBER, TOKEN

URL = f"/v23.0/{NUMBER}/messages"
TEXT = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": "48600100200",
        "type": "text", "text": {"preview_url": False, "body": "hello"}}


@pytest.fixture
def api(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url,
                      headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        yield client


def _error(response: httpx.Response, status: int, code: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code and isinstance(error["message"], str)
    assert error["type"] == "OAuthException" and error["fbtrace_id"]
    return error


def _template(name: str, code: str = "en_US", **extra: Any) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "to": "+48600100200", "type": "template",
            "template": {"name": name, "language": {"code": code}, **extra}}


def _body(*texts: str) -> list[dict[str, Any]]:
    return [{"type": "body", "parameters": [{"type": "text", "text": t} for t in texts]}]


def test_accepted_text_has_the_documented_response(api: httpx.Client,
                                                   sandbox: SandboxServer) -> None:
    response = api.post(URL, json=TEXT)
    assert response.status_code == 200
    data = response.json()
    assert data["messaging_product"] == "whatsapp"
    assert data["contacts"] == [{"input": "48600100200", "wa_id": "48600100200"}]
    assert data["messages"][0]["id"].startswith("wamid.")
    assert "message_status" not in data["messages"][0]
    assert [r.wamid for r in sandbox.state.sent_log()] == [data["messages"][0]["id"]]


def test_meta_examples_are_accepted(api: httpx.Client) -> None:
    """"Send Test Message" omits recipient_type and language.policy; Meta accepts it."""
    response = api.post(URL, json=_template("hello_world"))
    assert response.status_code == 200
    assert response.json()["messages"][0]["message_status"] == "accepted"
    assert response.json()["contacts"][0]["input"] == "+48600100200"
    full = _template("order_update", components=_body("Alex", "A12345"))
    full["recipient_type"] = "individual"
    full["template"]["language"]["policy"] = "deterministic"
    assert api.post(URL, json=full).status_code == 200


def test_authentication(sandbox: SandboxServer) -> None:
    with httpx.Client(base_url=sandbox.url) as anonymous:
        error = _error(anonymous.post(URL, json=TEXT), 401, 104)
        assert "access token is required" in error["message"]
        bad = anonymous.post(URL, json=TEXT, headers={"Authorization": "Bearer nope"})
        assert _error(bad, 401, 190) and bad.headers["www-authenticate"] == "OAuth"
        other = anonymous.post("/v23.0/999/messages", json=TEXT,
                               headers={"Authorization": f"Bearer {TOKEN}"})
        assert _error(other, 400, 100)["error_subcode"] == 33
    sandbox.state.expire_token(NUMBER)
    with httpx.Client(base_url=sandbox.url,
                      headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        assert _error(client.post(URL, json=TEXT), 401, 190)["error_subcode"] == 463
        sandbox.state.set_token(NUMBER, "rotated")
        assert client.post(URL, json=TEXT).status_code == 401
        client.headers["Authorization"] = "Bearer rotated"
        assert client.post(URL, json=TEXT).status_code == 200


@pytest.mark.parametrize(("change", "code"), [
    ({"messaging_product": None}, 100),
    ({"messaging_product": "sms"}, 100),
    ({"recipient_type": "everyone"}, 100),
    ({"to": None}, 100),
    ({"to": "call me"}, 131009),
    ({"type": "telegram"}, 100),
    ({"text": None}, 131008),
    ({"text": {"body": ""}}, 131008),
    ({"text": {"body": "x" * 4097}}, 100),
    ({"text": {"body": "hi", "bold": True}}, 100),
    ({"text": {"body": "hi", "preview_url": "yes"}}, 100),
    ({"biz_opaque_callback_data": "x" * 513}, 100),
])
def test_invalid_text_requests(api: httpx.Client, sandbox: SandboxServer,
                               change: dict[str, Any], code: int) -> None:
    body = {k: v for k, v in ({**TEXT, **change}).items() if v is not None}
    error = _error(api.post(URL, json=body), 400, code)
    assert error["error_data"]["messaging_product"] == "whatsapp"
    assert error["message"].startswith(f"(#{code})")
    assert sandbox.state.sent_log() == []


def test_not_json_is_refused(api: httpx.Client) -> None:
    _error(api.post(URL, content=b"to=1", headers={"Content-Type": "text/plain"}), 400, 100)
    _error(api.post(URL, content=b"{", headers={"Content-Type": "application/json"}), 400,
           100)


@pytest.mark.parametrize(("body", "status", "code"), [
    (_template("nope"), 404, 132001),
    (_template("order_update", "fr_FR", components=_body("a", "b")), 404, 132001),
    (_template("order_update", components=_body("a")), 400, 132000),
    (_template("order_update"), 400, 132000),
    (_template("hello_world", components=_body("extra")), 400, 132000),
    (_template("order_update", components=_body("a" * 1100, "b")), 400, 132005),
    (_template("paused_promo", components=_body("a")), 400, 132015),
    (_template("disabled_promo", components=_body("a")), 400, 132016),
    (_template("order_update", components=[{"type": "footer"}]), 400, 100),
    (_template("cart_reminder", components=[
        {"type": "header", "parameters": [{"type": "image", "image": {"link": "https://x"}}]},
        *_body("shoes"), {"type": "button", "sub_type": "url", "index": "0"}]), 400, 131008),
    (_template("order_update", components=_body("a", "b"), language=None), 400, 131008),
])
def test_template_registry_errors_happen_for_real(api: httpx.Client, body: dict[str, Any],
                                                  status: int, code: int) -> None:
    if "language" in body["template"] and body["template"]["language"] is None:
        del body["template"]["language"]
    _error(api.post(URL, json=body), status, code)


def test_template_with_header_body_and_button_parameters(api: httpx.Client) -> None:
    body = _template("cart_reminder", components=[
        {"type": "header", "parameters": [{"type": "image", "image": {"link": "https://x"}}]},
        {"type": "body", "parameters": [{"type": "currency", "currency": {
            "fallback_value": "$100.99", "code": "USD", "amount_1000": 100990}}]},
        {"type": "button", "sub_type": "url", "index": "0",
         "parameters": [{"type": "text", "text": "A12345"}]}])
    assert api.post(URL, json=body).status_code == 200


def test_the_window_and_the_sender(api: httpx.Client, sandbox: SandboxServer) -> None:
    sandbox.state.set_recipients(closed_window=["48600100200"])
    _error(api.post(URL, json=TEXT), 400, 131047)
    assert api.post(URL, json=_template("hello_world")).status_code == 200  # templates may
    _error(api.post(URL, json={**TEXT, "to": "15550783881"}), 400, 131021)


def test_throughput_answers_130429_when_exceeded(sandbox: SandboxServer) -> None:
    sandbox.state.add_number("306540352242922", "slow-token", throughput=5)
    with httpx.Client(base_url=sandbox.url,
                      headers={"Authorization": "Bearer slow-token"}) as client:
        codes = [client.post("/v23.0/306540352242922/messages", json=TEXT).status_code
                 for _ in range(8)]
    assert codes[:5] == [200] * 5 and 400 in codes[5:]
    assert sandbox.state.refused[130429] >= 1


def test_injected_faults(api: httpx.Client, sandbox: SandboxServer) -> None:
    sandbox.state.inject("error", code=131016)
    _error(api.post(URL, json=TEXT), 503, 131016)
    sandbox.state.inject("bare5xx")
    bare = api.post(URL, json=TEXT)
    assert bare.status_code == 502 and bare.headers["content-type"].startswith("text/html")
    sandbox.state.inject("error", code=131056, recipient="48600100201")
    assert api.post(URL, json=TEXT).status_code == 200  # another recipient is not limited
    _error(api.post(URL, json={**TEXT, "to": "48600100201"}), 400, 131056)
    sandbox.state.inject("timeout_after_accept", delay=1.0)
    with pytest.raises(httpx.ReadTimeout):
        api.post(URL, json=TEXT, timeout=0.3)
    assert len(sandbox.state.sent_log()) == 2  # the timed-out one was accepted
    with pytest.raises(ValueError, match="needs a code"):
        sandbox.state.inject("error")


def test_control_endpoints(sandbox: SandboxServer) -> None:
    with httpx.Client(base_url=sandbox.url) as control:
        assert control.post("/_sandbox/numbers", json={
            "phone_number_id": "406540352242922", "token": "t4"}).status_code == 200
        assert control.post("/_sandbox/templates", json={
            "name": "promo", "language": "en_US", "body": 1}).status_code == 200
        assert control.post("/_sandbox/faults", json={"kind": "bogus"}).status_code == 400
        sent = control.post("/v23.0/406540352242922/messages", headers={
            "Authorization": "Bearer t4"}, json=_template("promo", components=_body("x")))
        assert sent.status_code == 200
        log = control.get("/_sandbox/sent").json()
        assert [entry["wamid"] for entry in log] == [sent.json()["messages"][0]["id"]]
        assert "t4" not in str(log)
