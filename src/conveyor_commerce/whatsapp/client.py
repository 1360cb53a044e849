"""Async client for `POST /{version}/{phone_number_id}/messages` of the WhatsApp Cloud API.

It returns a `Sent` (the `wamid`) or raises one of three errors that say what is known about
the request's fate - the distinction the kit's duplicate protection rests on:

- `NotSent`: it never reached the API (connect error or timeout, pool exhausted, the body
  could not be written): safe to send again.
- `ApiError`: the API answered with an error object (`error.code` decides, see `codes`).
- `Ambiguous`: the request left, but no usable answer came back (read timeout, connection
  dropped, a 200 without a message id): Meta may have accepted it. Meta has no idempotency
  key, so the caller records this and follows its documented policy.

The token is a `vault.Secret`, revealed only into the Authorization header; it is never in a
URL, an exception or a log line (httpx logs the URL and status only).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import httpcore._backends.anyio  # noqa: F401  # httpcore imports it on the first request
import httpx

from conveyor_commerce.vault import Secret
from conveyor_commerce.whatsapp import codes, payloads

USER_AGENT = "conveyor-commerce/0.1.0"
_CODE_PREFIX = re.compile(r"^\(#\d+\)\s*")


@dataclasses.dataclass(frozen=True, slots=True)
class Sent:
    wamid: str
    wa_id: str | None
    message_status: str = "accepted"


class SendFailure(Exception):
    """Base of what `send` raises."""


class NotSent(SendFailure):
    """The request never reached the API."""


class Ambiguous(SendFailure):
    """The request left; whether Meta accepted it is unknown."""


class ApiError(SendFailure):
    """An error answer: `code` (None when the body had none), HTTP status, title, details."""

    def __init__(self, code: int | None, http_status: int, title: str, details: str = "",
                 fbtrace_id: str | None = None) -> None:
        super().__init__(f"(#{code}) {title}" if code is not None else
                         f"HTTP {http_status}: {title}")
        self.code, self.http_status, self.title = code, http_status, title
        self.details, self.fbtrace_id = details, fbtrace_id

    @property
    def rule(self) -> codes.Rule:
        return codes.rule_for(self.code, self.http_status)


@dataclasses.dataclass(frozen=True, slots=True)
class Endpoint:
    """Where one sending number's messages go."""

    base_url: str
    api_version: str
    phone_number_id: str
    token: Secret

    @property
    def url(self) -> str:
        return f"{self.base_url.rstrip('/')}/{self.api_version}/{self.phone_number_id}/messages"


def timeouts(read: float = 20.0) -> httpx.Timeout:
    """Connect, write and pool fail fast (nothing was sent); read is the ambiguous wait."""
    return httpx.Timeout(connect=5.0, read=read, write=5.0, pool=5.0)


async def send(http: httpx.AsyncClient, endpoint: Endpoint, to: str,
               content: payloads.Content, opaque: str | None = None) -> Sent:
    """Send one message; see the module docstring for what each error means."""
    body = payloads.request_body(to, content, opaque)
    headers = {"Authorization": f"Bearer {endpoint.token.reveal()}",
               "Content-Type": "application/json", "User-Agent": USER_AGENT}
    try:
        response = await http.post(endpoint.url, json=body, headers=headers)
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.WriteError,
            httpx.WriteTimeout, httpx.UnsupportedProtocol) as exc:
        raise NotSent(f"{type(exc).__name__}: the request did not reach the API") from None
    except (httpx.ReadTimeout, httpx.ReadError, httpx.RemoteProtocolError) as exc:
        raise Ambiguous(f"{type(exc).__name__}: sent, no answer") from None
    if response.status_code == 200:
        return _sent(response)
    raise _api_error(response)


def _sent(response: httpx.Response) -> Sent:
    try:
        data = response.json()
        message = data["messages"][0]
        wamid = message["id"]
        contacts = data.get("contacts") or [{}]
    except (ValueError, KeyError, IndexError, TypeError):
        raise Ambiguous("HTTP 200 without a message id in the body") from None
    if not isinstance(wamid, str) or not wamid:
        raise Ambiguous("HTTP 200 with an empty message id")
    wa_id = contacts[0].get("wa_id") if isinstance(contacts[0], dict) else None
    return Sent(wamid, str(wa_id).strip() if wa_id else None,
                str(message.get("message_status") or "accepted"))


def _api_error(response: httpx.Response) -> ApiError:
    try:
        error: dict[str, Any] = response.json()["error"]
        code = error.get("code")
        details = (error.get("error_data") or {}).get("details") or ""
        title = _CODE_PREFIX.sub("", str(error.get("message") or "error"))
        return ApiError(code if isinstance(code, int) else None, response.status_code,
                        title, str(details)[:1000], error.get("fbtrace_id"))
    except (ValueError, KeyError, TypeError, AttributeError):
        return ApiError(None, response.status_code, response.reason_phrase or "error")
