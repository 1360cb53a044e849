"""The dashboard's per-application state, and the helpers routes (built-in or from an
extension) use: `render`, `redirect`, `conveyor_of`, `user_of`.

One `Dashboard` lives in `starlette_app.state.dashboard`; nothing is kept in module globals,
so several dashboards (for several Conveyor apps) can run in one process.
"""

from __future__ import annotations

import hmac
import inspect
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import jinja2
import markupsafe
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from conveyor.web import cookies, extension, sessions, templating, throttle
from conveyor.web.config import DashboardConfig, Role, User

if TYPE_CHECKING:
    from conveyor.app import Conveyor

AuthCallable = Callable[[Request], "Awaitable[User | None] | User | None"]
"""Authenticates a request for a dashboard mounted behind an existing login: return the
`User` (its name is the audit actor, its role what it may do), or None to refuse it."""

BUILT_IN: Sequence[extension.NavEntry] = (
    extension.NavEntry("Overview", "/"), extension.NavEntry("Jobs", "/jobs"),
    extension.NavEntry("Batches", "/batches"), extension.NavEntry("Cron", "/cron"),
    extension.NavEntry("Limits", "/limits"), extension.NavEntry("Workers", "/workers"),
    extension.NavEntry("Audit", "/audit"),
)
RESERVED = {"jobs", "job", "actions", "batches", "cron", "limits", "workers", "audit",
            "export", "metrics", "login", "logout", "static", "overview"}
REFRESH_CHOICES = (0, 5, 10, 30, 60, 300)


class Dashboard:
    """What every request of one dashboard shares."""

    def __init__(self, conveyor: Conveyor, config: DashboardConfig,
                 auth: AuthCallable | None, pages: Sequence[extension.Page]) -> None:
        extension.check_slugs(pages, RESERVED)
        self.conveyor, self.config, self.auth, self.pages = conveyor, config, auth, pages
        self.sessions = sessions.Sessions(config.secret_key or secrets.token_urlsafe(32),
                                          config.session_max_age)
        self.throttle = throttle.LoginThrottle(config.login_attempts, config.login_window)
        self.templates = templating.environment(
            {p.slug: Path(p.templates) for p in pages if p.templates is not None})
        self.nav = [*BUILT_IN, *(extension.NavEntry(p.label, f"/{p.slug}/")
                                 for p in pages if p.nav)]

    @property
    def uses_login(self) -> bool:
        return self.auth is None

    async def authenticate(self, request: Request) -> User | None:
        if self._is_scraper(request):
            return User("metrics", Role.READ_ONLY)
        if self.auth is not None:
            found = self.auth(request)
            user = await found if inspect.isawaitable(found) else found
            return user if isinstance(user, User) else None
        session = self.sessions.read(request.cookies.get(sessions.SESSION_COOKIE))
        account = None if session is None else self.config.account(session[0])
        return None if account is None else User(account.name, account.role)

    def _is_scraper(self, request: Request) -> bool:
        """A request for /metrics with the configured bearer token."""
        token = self.config.metrics_token
        if not token or cookies.route_path(request.scope) != "/metrics":
            return False
        given = request.headers.get("authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())

    def render(self, request: Request, template: str, context: Mapping[str, Any] | None = None,
               status: int = 200) -> HTMLResponse:
        state = request.scope.get("state", {})
        values = {
            "request": request, "user": state.get("user"), "nav": self.nav,
            "notice": state.get("notice"), "now": self.conveyor.clock.now(),
            "refresh": self.config.refresh_seconds, "refresh_choices": REFRESH_CHOICES,
            "uses_login": self.uses_login, "href": lambda path, **q: href(request, path, **q),
            "csrf_field": lambda: csrf_field(request), "csrf_token": state.get("csrf_token", ""),
            "current": current_section(request), "here": here(request),
            "path_with": with_query,
        }
        values.update(context or {})
        html = self.templates.get_template(template).render(values)
        return HTMLResponse(html, status_code=status)

    def template(self, name: str) -> jinja2.Template:
        return self.templates.get_template(name)


def dashboard_of(request: Request) -> Dashboard:
    found: Dashboard = request.app.state.dashboard
    return found


def conveyor_of(request: Request) -> Conveyor:
    """The Conveyor application this dashboard shows."""
    return dashboard_of(request).conveyor


def user_of(request: Request) -> User:
    """The logged-in user (every route behind the guard has one)."""
    user: User = request.scope["state"]["user"]
    return user


def render(request: Request, template: str, context: Mapping[str, Any] | None = None,
           status: int = 200) -> HTMLResponse:
    """Render `template` inside the dashboard layout."""
    return dashboard_of(request).render(request, template, context, status)


def redirect(request: Request, path: str, notice: str | None = None) -> Response:
    """303 to a dashboard path (after a POST), with a one-time notice shown on arrival."""
    response = RedirectResponse(href(request, path), status_code=303)
    if notice:
        cookies.set_flash(request, response, dashboard_of(request).sessions, notice)
    return response


def href(request: Request, path: str, **query: Any) -> str:
    """A dashboard URL, inside the prefix it is mounted under; None/empty values dropped."""
    return f"{cookies.root_of(request.scope)}{with_query(path, **query)}"


def with_query(path: str, **query: Any) -> str:
    pairs = [(k, v) for k, v in query.items() if v not in (None, "", [], ())]
    flat = [(k, item) for k, v in pairs for item in (v if isinstance(v, list | tuple) else [v])]
    return f"{path}?{urlencode(flat)}" if flat else path


def here(request: Request) -> str:
    """This request's path and query inside the dashboard (a `next` to come back to)."""
    query = request.url.query
    return cookies.route_path(request.scope) + (f"?{query}" if query else "")


def csrf_field(request: Request) -> markupsafe.Markup:
    token = request.scope.get("state", {}).get("csrf_token", "")
    return markupsafe.Markup('<input type="hidden" name="{}" value="{}">').format(
        sessions.CSRF_FIELD, token)


def current_section(request: Request) -> str:
    path = cookies.route_path(request.scope)
    return "/" + path.strip("/").split("/", 1)[0] if path.strip("/") else "/"


def now_of(request: Request) -> datetime:
    return conveyor_of(request).clock.now()
