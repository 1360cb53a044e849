"""Log in and out (password users only; a dashboard with an auth callable has neither).

Failed attempts are throttled per user name and per client address; a password is checked
in a worker thread (scrypt is slow on purpose) and against a dummy hash when the user does
not exist, so timing does not tell which names are real.
"""

from __future__ import annotations

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from conveyor.web import cookies, passwords, sessions
from conveyor.web.dashboard import dashboard_of, href

_DUMMY = passwords.hash_password("not a real password", salt=b"conveyor-dummy-salt")


def routes() -> list[BaseRoute]:
    return [Route("/login", login_form, methods=["GET"]),
            Route("/login", login, methods=["POST"]),
            Route("/logout", logout, methods=["POST"])]


async def login_form(request: Request) -> Response:
    dashboard = dashboard_of(request)
    if not dashboard.uses_login:
        return PlainTextResponse("404: this dashboard has no login page", 404)
    target = safe_next(request.query_params.get("next"))
    if request.scope["state"].get("user") is not None:
        return RedirectResponse(href(request, target), status_code=303)
    return dashboard.render(request, "login.html", {"next": target, "error": None})


async def login(request: Request) -> Response:
    dashboard = dashboard_of(request)
    if not dashboard.uses_login:
        return PlainTextResponse("404: this dashboard has no login page", 404)
    async with request.form() as form:
        name, password = str(form.get("username", "")), str(form.get("password", ""))
        target = safe_next(str(form.get("next", "/")))
    client = request.client.host if request.client else "unknown"
    keys = [f"user:{name}", f"address:{client}"]
    wait = dashboard.throttle.retry_after(keys)
    if wait > 0:
        return _refused(request, target, f"Too many failed logins; try again in {wait:.0f} s.",
                        429, {"Retry-After": str(int(wait) + 1)})
    account = dashboard.config.account(name)
    stored = account.password_hash if account is not None else _DUMMY
    matches = await anyio.to_thread.run_sync(passwords.verify_password, password, stored)
    if account is None or not matches:
        dashboard.throttle.failed(keys)
        return _refused(request, target, "Wrong user name or password.", 401, {})
    dashboard.throttle.succeeded(f"user:{name}")
    response = RedirectResponse(href(request, target), status_code=303)
    cookies.set_on(response, request, sessions.SESSION_COOKIE,
                   dashboard.sessions.issue(account.name), dashboard.config.session_max_age)
    return response


async def logout(request: Request) -> Response:
    dashboard = dashboard_of(request)
    found = dashboard.sessions.read(request.cookies.get(sessions.SESSION_COOKIE))
    if found is not None:
        dashboard.sessions.revoke(found[1])
    response = RedirectResponse(href(request, "/login"), status_code=303)
    cookies.set_on(response, request, sessions.SESSION_COOKIE, "", 0)
    return response


def safe_next(target: str | None) -> str:
    """Only a path inside the dashboard (no scheme, no host: no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _refused(request: Request, target: str, error: str, status: int,
             headers: dict[str, str]) -> Response:
    response = dashboard_of(request).render(request, "login.html",
                                            {"next": target, "error": error}, status)
    response.headers.update(headers)
    return response
