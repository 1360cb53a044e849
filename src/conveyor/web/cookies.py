"""Cookie attributes in one place: HttpOnly and SameSite=Lax always, Secure behind TLS (or as
configured), scoped to the path the dashboard is mounted under."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import itsdangerous
from starlette.requests import Request
from starlette.responses import Response

if TYPE_CHECKING:
    from conveyor.web.sessions import Sessions

FLASH_COOKIE = "conveyor_notice"


def root_of(scope: Any) -> str:
    """The prefix the dashboard is mounted at (as the guard saw it: an extension's routes
    sit in a mount of their own, whose `root_path` is longer)."""
    root: str = scope.get("state", {}).get("dashboard_root", scope.get("root_path", ""))
    return root


def route_path(scope: Any) -> str:
    """The request path below the prefix the dashboard is mounted at."""
    path: str = scope["path"]
    root = root_of(scope)
    if root and path.startswith(root) and (len(path) == len(root) or path[len(root)] == "/"):
        return path[len(root):] or "/"
    return path


def cookie_path(scope: Any) -> str:
    return root_of(scope) or "/"


def is_secure(scope: Any) -> bool:
    configured = scope["app"].state.dashboard.config.secure_cookies
    return bool(configured) if configured is not None else scope.get("scheme") == "https"


def header(scope: Any, name: str, value: str, max_age: int | None) -> bytes:
    """A Set-Cookie header value; `max_age=0` deletes, None lasts for the browser session."""
    parts = [f"{name}={value}", f"Path={cookie_path(scope)}", "HttpOnly", "SameSite=Lax"]
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    if is_secure(scope):
        parts.append("Secure")
    return "; ".join(parts).encode("latin-1")


def set_on(response: Response, request: Request, name: str, value: str,
           max_age: int | None) -> None:
    response.raw_headers.append((b"set-cookie", header(request.scope, name, value, max_age)))


def set_flash(request: Request, response: Response, signer: Sessions, text: str) -> None:
    set_on(response, request, FLASH_COOKIE, signer.flash.dumps(text[:300]), 60)


def read_flash(cookie: str | None, signer: Sessions) -> str | None:
    if not cookie:
        return None
    try:
        text = signer.flash.loads(cookie, max_age=60)
    except itsdangerous.BadData:
        return None
    return text if isinstance(text, str) else None

