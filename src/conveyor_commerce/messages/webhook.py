"""The delivery-status webhook: an ASGI app Meta calls (mount it anywhere, or serve it with
`conveyor commerce webhook`).

- `GET ?hub.mode=subscribe&hub.verify_token=...&hub.challenge=N`: Meta's verification
  handshake; answers the challenge as plain text when the token matches, else 403.
- `POST` a webhook body: accepted only with a valid `X-Hub-Signature-256` - HMAC-SHA256 of the
  raw body with the app secret, compared in constant time; a bad or missing signature is
  answered 401 and changes nothing. Valid callbacks are applied (`statuses.apply`) before the
  200: if the database is down the answer is 500 and Meta delivers the callback again (it
  retries for up to 7 days), so nothing is acknowledged that was not stored.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import TYPE_CHECKING

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from conveyor_commerce.messages import statuses

if TYPE_CHECKING:
    from conveyor_commerce.kit import Commerce

BODY_LIMIT = 1024 * 1024
SIGNATURE_HEADER = "x-hub-signature-256"
log = logging.getLogger("conveyor_commerce.webhook")


def signature(app_secret: str, body: bytes) -> str:
    """The `X-Hub-Signature-256` header value Meta sends for `body`."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def signature_valid(app_secret: str, body: bytes, header: str | None) -> bool:
    if not header:
        return False
    return hmac.compare_digest(signature(app_secret, body).encode(),
                               header.strip().encode("ascii", "replace"))


def create_app(kit: Commerce, *, app_secret: str, verify_token: str) -> Starlette:
    if not app_secret or not verify_token:
        raise ValueError("the webhook needs the app secret and a verify token")

    async def verify(request: Request) -> Response:
        query = request.query_params
        token = query.get("hub.verify_token", "")
        if query.get("hub.mode") == "subscribe" and hmac.compare_digest(
                token.encode(), verify_token.encode()):
            return PlainTextResponse(query.get("hub.challenge", ""))
        return PlainTextResponse("verification failed", status_code=403)

    async def receive(request: Request) -> Response:
        body = await request.body()
        if len(body) > BODY_LIMIT:
            return PlainTextResponse("body too large", status_code=413)
        if not signature_valid(app_secret, body, request.headers.get(SIGNATURE_HEADER)):
            log.warning("webhook call refused: missing or invalid X-Hub-Signature-256")
            return PlainTextResponse("invalid signature", status_code=401)
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            return PlainTextResponse("body is not JSON", status_code=400)
        if not isinstance(payload, dict):
            return PlainTextResponse("body is not a JSON object", status_code=400)
        done = await run_in_threadpool(statuses.apply, kit, payload)
        return JSONResponse({"applied": done.applied, "ignored": done.ignored,
                             "retried": done.retried})

    return Starlette(routes=[Route("/", verify, methods=["GET"]),
                             Route("/", receive, methods=["POST"])])
