"""The fake WhatsApp Cloud API: `POST /{version}/{phone_number_id}/messages` with Meta's
validation, throttling and error shapes, plus `/_sandbox/...` control endpoints.

Order of checks, as the Graph API does them: the token (104 missing, 190 invalid or expired),
the phone number id (100), the body (validation: 100/131008/131009), injected faults, the
number's throughput (130429), then what only Meta knows - the recipient is the sender (131021),
the 24-hour window for text (131047), the template registry (132001, 132015, 132016, 132000,
132005). Accepted: HTTP 200 `{"messaging_product", "contacts": [{"input", "wa_id"}],
"messages": [{"id": wamid, "message_status"?}]}` and status callbacks to the configured URL.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import time
from collections.abc import Mapping
from typing import Any

import httpx
import orjson
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from conveyor_commerce.sandbox import control, validation, webhooks
from conveyor_commerce.sandbox.catalog import ApiFailure
from conveyor_commerce.sandbox.state import Number, SandboxState

_VERSION = re.compile(r"^v\d{1,3}\.\d{1,2}$")


def create_app(state: SandboxState) -> Starlette:
    tasks: set[asyncio.Task[None]] = set()
    clients: dict[int, httpx.AsyncClient] = {}

    def http() -> httpx.AsyncClient:
        loop_id = id(asyncio.get_running_loop())
        if loop_id not in clients:
            clients[loop_id] = httpx.AsyncClient(timeout=5.0)
        return clients[loop_id]

    async def messages(request: Request) -> Response:
        try:
            number = _authorize(state, request)
            body = await _json(request)
            kind, recipient = validation.message(body)
            return await _send(state, number, body, kind, recipient, tasks, http)
        except ApiFailure as failure:
            return _failure(state, failure)
        except ClientDisconnect:  # the client went away (a killed worker): nothing to answer
            return Response(status_code=499)

    routes = [Route("/{version}/{phone_number_id}/messages", messages, methods=["POST"]),
              *control.routes(state)]
    return Starlette(routes=routes)


def _failure(state: SandboxState, failure: ApiFailure) -> Response:
    state.refuse(failure.code)
    return JSONResponse(failure.body(), status_code=failure.http_status(),
                        headers={"WWW-Authenticate": "OAuth"}
                        if failure.code in (104, 190) else None)


def _authorize(state: SandboxState, request: Request) -> Number:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer ") or not header[7:].strip():
        raise ApiFailure(104)
    token = header[7:].strip()
    version = request.path_params["version"]
    number = state.numbers.get(request.path_params["phone_number_id"])
    if number is not None and number.token_expired and token == number.token:
        raise ApiFailure(190, subcode=463, title="Error validating access token: Session has "
                         "expired")
    if number is None or token != number.token:
        if number is None and any(n.token == token for n in state.numbers.values()):
            raise ApiFailure(100, subcode=33, title="Unsupported post request. Object with ID "
                             f"'{request.path_params['phone_number_id']}' does not exist, "
                             "cannot be loaded due to missing permissions, or does not "
                             "support this operation")
        raise ApiFailure(190, title="Invalid OAuth access token - Cannot parse access token")
    if not _VERSION.match(version):
        raise ApiFailure(100, f"Unknown path components: /{version}")
    return number


async def _json(request: Request) -> Any:
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    if content_type != "application/json":
        raise ApiFailure(100, "The request body must be application/json.")
    try:
        return orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise ApiFailure(100, "The request body is not valid JSON.") from None


async def _send(state: SandboxState, number: Number, body: Mapping[str, Any], kind: str,
                recipient: str, tasks: set[asyncio.Task[None]],
                http: Any) -> Response:
    pnid = number.phone_number_id
    fault = state.take_fault(pnid, recipient, ("error", "bare5xx", "timeout"))
    if fault is not None:
        if fault.kind == "timeout":
            await asyncio.sleep(fault.delay)
            return PlainTextResponse("upstream timeout", status_code=504)
        if fault.kind == "bare5xx":
            return Response("<html><body>502 Bad Gateway</body></html>", status_code=502,
                            media_type="text/html")
        raise ApiFailure(int(fault.code or 131000))
    if not state.admit(number, time.monotonic()):
        raise ApiFailure(130429)
    _meta_checks(state, number, body, kind, recipient)
    record = state.record(pnid, str(body["to"]), kind, body.get("biz_opaque_callback_data"),
                          dict(body))
    fail_code = 131026 if recipient in state.undeliverable else None
    webhook_fault = state.take_fault(pnid, recipient, ("fail_webhook",))
    if webhook_fault is not None:
        fail_code = webhook_fault.code
    config = dataclasses.replace(state.webhook)
    if config.url:
        task = asyncio.create_task(webhooks.deliver(http(), config, number, record, fail_code))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    late = state.take_fault(pnid, recipient, ("timeout_after_accept",))
    if late is not None:
        await asyncio.sleep(late.delay)
    message: dict[str, Any] = {"id": record.wamid}
    if kind == "template":
        message["message_status"] = "accepted"
    return JSONResponse({"messaging_product": "whatsapp",
                         "contacts": [{"input": str(body["to"]), "wa_id": record.wa_id}],
                         "messages": [message]})


def _meta_checks(state: SandboxState, number: Number, body: Mapping[str, Any], kind: str,
                 recipient: str) -> None:
    if recipient == number.display_number:
        raise ApiFailure(131021)
    if kind == "text" and recipient in state.closed_window:
        raise ApiFailure(131047)
    if kind == "template":
        _template_checks(state, body["template"])


def _template_checks(state: SandboxState, template: Mapping[str, Any]) -> None:
    name, language = template["name"], template["language"]["code"]
    spec = state.templates.get((name, language))
    if spec is None:
        raise ApiFailure(132001, f"template name ({name}) does not exist in {language}")
    if spec.status == "PAUSED":
        raise ApiFailure(132015)
    if spec.status == "DISABLED":
        raise ApiFailure(132016)
    header, body, buttons = validation.parameter_counts(template)
    expected_buttons = {index: spec_button for index, spec_button in enumerate(spec.buttons)
                        if spec_button[1] > 0}
    if (header, body) != (spec.header, spec.body) or buttons != expected_buttons:
        raise ApiFailure(132000, f"body: expected number of params ({spec.body}) does not "
                         f"match received number of params ({body})"
                         if body != spec.body else None)
    if spec.text and validation.hydrated_length(spec.text, template) > 1024:
        raise ApiFailure(132005)

