"""The one gate every request passes: security headers, login, CSRF and the read-only role.

It wraps the whole dashboard (built-in and extension pages alike), so no route can forget a
check: a request without a user is sent to the login page (or refused), a POST without the
CSRF token of its cookie is refused with 403, and so is any POST from a read-only user.
Only GET and HEAD are "safe", and no GET route changes anything.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conveyor.web import cookies, sessions

SAFE_METHODS = frozenset({"GET", "HEAD"})
PUBLIC = frozenset({"/login"})
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
HEADERS = {
    "content-security-policy": CSP,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
}
MAX_BODY = 4 * 1024 * 1024


class Guard:
    """ASGI middleware around the dashboard's routes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = cookies.route_path(scope)
        if path.startswith("/static/"):
            await self.app(scope, receive, _with_headers(send, []))
            return
        dashboard = scope["app"].state.dashboard
        extra = _prepare_state(scope, dashboard)
        send = _with_headers(send, extra, no_store=True)
        body = b""
        if scope["method"] not in SAFE_METHODS:
            read = await _read_body(receive)
            if read is None:
                await PlainTextResponse("request body too large", 413)(scope, receive, send)
                return
            body, receive = read, _replay(read, receive)
        denied = await _check(scope, body, path, dashboard)
        if denied is not None:
            await denied(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _prepare_state(scope: Scope, dashboard: Any) -> list[tuple[bytes, bytes]]:
    """Find (or mint) the CSRF token and the one-time notice; return cookies to set."""
    request = Request(scope)
    state = scope.setdefault("state", {})
    state["dashboard_root"] = scope.get("root_path", "")
    extra = []
    token = dashboard.sessions.csrf_of(request.cookies.get(sessions.CSRF_COOKIE))
    if token is None:
        token, cookie = dashboard.sessions.new_csrf()
        extra.append((b"set-cookie", cookies.header(scope, sessions.CSRF_COOKIE, cookie, None)))
    state["csrf_token"] = token
    notice = cookies.read_flash(request.cookies.get(cookies.FLASH_COOKIE), dashboard.sessions)
    if notice is not None and scope["method"] in SAFE_METHODS \
            and "hx-request" not in request.headers:
        state["notice"] = notice
        extra.append((b"set-cookie", cookies.header(scope, cookies.FLASH_COOKIE, "", 0)))
    return extra


async def _check(scope: Scope, body: bytes, path: str, dashboard: Any) -> Response | None:
    request = Request(scope, _replay(body))
    user = await dashboard.authenticate(request)
    scope["state"]["user"] = user
    if scope["method"] not in SAFE_METHODS:
        submitted = request.headers.get(sessions.CSRF_HEADER) or await _form_token(request)
        if not dashboard.sessions.csrf_matches(request.cookies.get(sessions.CSRF_COOKIE),
                                               submitted):
            return PlainTextResponse(
                "403: the form's security token is missing or stale; reload the page and "
                "try again", 403)
    if user is None and path not in PUBLIC:
        return _unauthenticated(request, dashboard.uses_login)
    if user is not None and not user.can_act and scope["method"] not in SAFE_METHODS \
            and path not in ("/logout", "/login"):
        return PlainTextResponse(f"403: user {user.name} is read-only", 403)
    return None


def _unauthenticated(request: Request, uses_login: bool) -> Response:
    if not uses_login:
        return PlainTextResponse("401: not authorized for the dashboard", 401)
    root = cookies.root_of(request.scope)
    target = cookies.route_path(request.scope)
    if request.url.query:
        target += "?" + request.url.query
    login = f"{root}/login?next={quote(target)}"
    if request.method not in SAFE_METHODS:
        return PlainTextResponse("403: log in first", 403)
    if "hx-request" in request.headers:
        return Response(status_code=401, headers={"HX-Redirect": login})
    return RedirectResponse(login, status_code=303)


async def _form_token(request: Request) -> str | None:
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith(("application/x-www-form-urlencoded",
                                    "multipart/form-data")):
        return None
    try:
        async with request.form() as form:
            value = form.get(sessions.CSRF_FIELD)
    except Exception:  # a malformed body has no token; it is refused like a missing one
        return None
    return value if isinstance(value, str) else None


async def _read_body(receive: Receive) -> bytes | None:
    chunks, size, more = [], 0, True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b""
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)


def _replay(body: bytes, then: Receive | None = None) -> Receive:
    """Hand out the buffered body once; afterwards wait on the real connection (`then`), so
    a streamed response still learns about a disconnect."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        if then is not None:
            return await then()
        return {"type": "http.disconnect"}

    return receive


def _with_headers(send: Send, extra: list[tuple[bytes, bytes]], no_store: bool = False) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            for key, value in HEADERS.items():
                headers.setdefault(key, value)
            if no_store:
                headers.setdefault("cache-control", "no-store")
            for raw_key, raw_value in extra:
                headers.append(raw_key.decode(), raw_value.decode("latin-1"))
        await send(message)

    return wrapped
