"""`/_sandbox/...`: configure a running sandbox over HTTP (the CLI-served sandbox, a demo, or
tests in another process), and read its log of accepted sends.

- `POST /_sandbox/numbers` `{"phone_number_id", "token", "throughput"?, "display_number"?}`
- `POST /_sandbox/token` `{"phone_number_id", "token"}` (rotate) - `POST /_sandbox/expire`
  `{"phone_number_id"}` (190 until rotated)
- `POST /_sandbox/templates` `{"name", "language", "header"?, "body"?, "buttons"?, "status"?}`
- `POST /_sandbox/faults` `{"kind", "times"?, "code"?, "delay"?, "number"?, "recipient"?}`
- `POST /_sandbox/recipients` `{"undeliverable"?: [...], "closed_window"?: [...]}`
- `POST /_sandbox/webhook` `{"url", "app_secret", "read"?, "delay"?}`
- `GET /_sandbox/sent` - every accepted send (tokens never appear: they are not logged)
- `GET /_sandbox/refused` - how many sends each error code refused (130429: throttled)
- `POST /_sandbox/reset`
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from conveyor_commerce.sandbox.state import SandboxState, TemplateSpec

Handler = Callable[[SandboxState, dict[str, Any]], None]


def routes(state: SandboxState) -> list[Route]:
    def post(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                data = await request.json()
                handler(state, data if isinstance(data, dict) else {})
            except (ValueError, KeyError, TypeError) as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
            return JSONResponse({"ok": True})
        return endpoint

    async def sent(_: Request) -> Response:
        return JSONResponse([{**dataclasses.asdict(record)} for record in state.sent_log()])

    async def refused(_: Request) -> Response:
        with state.lock:
            counts = {str(code): n for code, n in state.refused.items()}
        return JSONResponse(counts)

    async def reset(_: Request) -> Response:
        state.reset()
        return JSONResponse({"ok": True})

    handlers: dict[str, Handler] = {
        "numbers": lambda s, d: s.add_number(
            str(d["phone_number_id"]), str(d["token"]), throughput=int(d.get("throughput", 80)),
            display_number=str(d.get("display_number", "15550783881"))),
        "token": lambda s, d: s.set_token(str(d["phone_number_id"]), str(d["token"])),
        "expire": lambda s, d: s.expire_token(str(d["phone_number_id"])),
        "templates": lambda s, d: s.add_template(TemplateSpec(
            str(d["name"]), str(d["language"]), int(d.get("header", 0)), int(d.get("body", 0)),
            tuple((str(b[0]), int(b[1])) for b in d.get("buttons", ())),
            str(d.get("status", "APPROVED")), str(d.get("text", "")))),
        "faults": lambda s, d: s.inject(
            str(d["kind"]), times=int(d.get("times", 1)), code=d.get("code"),
            delay=float(d.get("delay", 0.0)), number=d.get("number"),
            recipient=d.get("recipient")),
        "recipients": lambda s, d: s.set_recipients(
            undeliverable=d.get("undeliverable", ()), closed_window=d.get("closed_window", ())),
        "webhook": lambda s, d: s.configure_webhook(
            d.get("url"), str(d.get("app_secret", "")), read=bool(d.get("read", True)),
            delay=float(d.get("delay", 0.05))),
    }
    return [*(Route(f"/_sandbox/{name}", post(handler), methods=["POST"])
              for name, handler in handlers.items()),
            Route("/_sandbox/sent", sent, methods=["GET"]),
            Route("/_sandbox/refused", refused, methods=["GET"]),
            Route("/_sandbox/reset", reset, methods=["POST"])]
