"""`create_app`: the dashboard as an ASGI application, to serve alone or mount in another.

    from starlette.routing import Mount
    from conveyor import web
    routes = [Mount("/jobs-admin", app=web.create_app(app, pages=[...]))]

Everything per dashboard lives on the returned app's `state.dashboard`; every route sits
behind the `Guard` (login, CSRF, read-only role, security headers).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from conveyor import errors
from conveyor.web import extension, guard
from conveyor.web.config import DashboardConfig
from conveyor.web.dashboard import AuthCallable, Dashboard
from conveyor.web.routes import (
    actions,
    audit,
    batches,
    cron,
    export,
    job,
    jobs,
    limits,
    login,
    metrics,
    overview,
    workers,
)

if TYPE_CHECKING:
    from conveyor.app import Conveyor

STATIC = guard.__file__.rsplit("/", 1)[0] + "/static"


def create_app(conveyor: Conveyor, *, pages: Sequence[extension.Page] = (),
               auth: AuthCallable | None = None,
               config: DashboardConfig | None = None) -> Starlette:
    """The dashboard for `conveyor`. Users come from `config` (default: the
    `CONVEYOR_DASHBOARD_*` environment variables); or pass `auth`, a callable that returns
    the `User` of a request, to sit behind a login you already have."""
    config = config if config is not None else DashboardConfig.from_env()
    if auth is None and not config.users:
        raise errors.ConfigurationError(
            "the dashboard needs at least one user: set CONVEYOR_DASHBOARD_PASSWORD (user "
            "'admin', or $CONVEYOR_DASHBOARD_USER), or CONVEYOR_DASHBOARD_USERS=name:role:hash "
            "with hashes from `conveyor dashboard hash-password`, or pass "
            "config=DashboardConfig(users=[Account.with_password(...)]) or auth=<callable>")
    dashboard = Dashboard(conveyor, config, auth, pages)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        await conveyor.aclose()

    starlette = Starlette(routes=_routes(pages), middleware=[Middleware(guard.Guard)],
                          lifespan=lifespan)
    starlette.state.dashboard = dashboard
    return starlette


def _routes(pages: Sequence[extension.Page]) -> list[BaseRoute]:
    built_in = [module.routes() for module in (
        login, overview, jobs, export, job, actions, batches, cron, limits, workers, audit,
        metrics)]
    found: list[BaseRoute] = [route for group in built_in for route in group]
    found.append(Mount("/static", app=StaticFiles(directory=STATIC), name="static"))
    found.extend(Mount(f"/{page.slug}", routes=list(page.routes)) for page in pages)
    return found
