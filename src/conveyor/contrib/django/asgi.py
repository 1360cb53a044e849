"""The dashboard beside a Django project served over ASGI, behind Django's own login.

    # asgi.py
    from django.core.asgi import get_asgi_application
    django_app = get_asgi_application()
    from conveyor.contrib.django.asgi import with_dashboard
    application = with_dashboard(django_app, path="/admin/jobs")   # staff users only

`staff_user` (the default `auth`) reads Django's session cookie and lets in active staff
users, as the Django admin does, under their user name (the audit actor).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from importlib import import_module
from types import SimpleNamespace
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Mount
from starlette.types import ASGIApp

from conveyor import web


def with_dashboard(django_app: ASGIApp, *, path: str = "/admin/jobs",
                   auth: web.AuthCallable | None = None, pages: Sequence[web.Page] = (),
                   config: web.DashboardConfig | None = None) -> Starlette:
    """One ASGI app: Conveyor's dashboard under `path`, Django for everything else."""
    from conveyor.contrib.django import application

    app = application.project_app()
    dashboard = web.create_app(app, auth=auth or staff_user, pages=pages, config=config)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        await app.aclose()

    return Starlette(routes=[Mount(path.rstrip("/"), app=dashboard), Mount("", app=django_app)],
                     lifespan=lifespan)


async def staff_user(request: Request) -> web.User | None:
    """The Django user of the request's session, if it is an active staff user."""
    key = request.cookies.get(settings.SESSION_COOKIE_NAME)
    if not key:
        return None
    user = await sync_to_async(_user_of_session)(key)
    if user is None or not (user.is_active and user.is_staff):
        return None
    return web.User(user.get_username(), web.Role.ADMIN)


def _user_of_session(key: str) -> Any:
    """Read as a request would, its connection handled as at the start and end of one
    (closed past `CONN_MAX_AGE`), so the thread keeps no connection open for ever."""
    from django.contrib.auth import get_user

    close_old_connections()
    try:
        store = import_module(settings.SESSION_ENGINE).SessionStore(session_key=key)
        user = get_user(SimpleNamespace(session=store))  # type: ignore[arg-type]
        return user if user.is_authenticated else None
    finally:
        close_old_connections()
