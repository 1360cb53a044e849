"""Conveyor inside a Starlette or FastAPI service.

    from conveyor.contrib import starlette as conveyor_starlette
    api = FastAPI(lifespan=conveyor_starlette.lifespan(app))            # storage opens/closes
    api = FastAPI(lifespan=conveyor_starlette.lifespan(app, worker=True))  # and runs jobs too
    conveyor_starlette.mount_dashboard(api, app, path="/jobs", auth=staff_only)

`running(app)` opens the application's storage when the service starts (migrating it if the
app may, so a wrong URL or a missing table stops the start instead of the first request)
and closes it when the service stops. Handlers enqueue with `await job.aenqueue(...)` on the
service's own event loop.

The optional in-process worker is for small deployments (one service process that also runs
its jobs): it behaves like `conveyor worker` on SIGTERM - it stops claiming at the signal,
its running jobs get `grace` seconds to finish when the server shuts down, and the rest are
handed back as available with their attempt refunded. The signal is then passed on to the
server (uvicorn, hypercorn), which shuts down as it always does. Larger deployments run
`conveyor worker` processes beside the service instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from types import FrameType
from typing import Any

from starlette.applications import Starlette

from conveyor import web
from conveyor.app import Conveyor
from conveyor.worker import runner

log = logging.getLogger("conveyor.contrib.starlette")
Lifespan = Callable[[Any], contextlib.AbstractAsyncContextManager[None]]


@contextlib.asynccontextmanager
async def running(app: Conveyor, *, worker: bool = False, queues: Sequence[str] = (),
                  concurrency: int = 10, grace: float = 30.0) -> AsyncIterator[Conveyor]:
    """Open `app`'s storage for the duration (and with `worker`, run its jobs here: `queues`,
    by default those of its jobs and any other where jobs of its names wait, as
    `conveyor worker` does; `concurrency` at once, `grace` seconds at shutdown)."""
    await app.storage()
    if not worker:
        try:
            yield app
        finally:
            await app.aclose()
        return
    job_runner = runner.Worker(app, runner.WorkerConfig(
        queues=tuple(queues), concurrency=concurrency, grace=grace, install_signals=False))
    task = asyncio.create_task(job_runner.run(), name="conveyor-in-process-worker")
    task.add_done_callback(_report_crash)
    restore = _stop_on_signals(job_runner)
    try:
        yield app
    finally:
        restore()
        job_runner.request_stop()
        await asyncio.gather(task, return_exceptions=True)
        await app.aclose()


def lifespan(app: Conveyor, **worker_options: Any) -> Lifespan:
    """A lifespan for `Starlette(lifespan=...)` / `FastAPI(lifespan=...)` that runs
    `running(app, **worker_options)`. A service with a lifespan of its own enters
    `running(app)` inside it instead."""

    @contextlib.asynccontextmanager
    async def span(_service: Any) -> AsyncIterator[None]:
        async with running(app, **worker_options):
            yield

    return span


def mount_dashboard(service: Starlette, app: Conveyor, *, path: str = "/jobs",
                    auth: web.AuthCallable | None = None, pages: Sequence[web.Page] = (),
                    config: web.DashboardConfig | None = None) -> Starlette:
    """Serve the dashboard of `app` under `path` of `service`. With `auth` (a callable that
    gets the request and returns a `web.User`, or None to refuse) it sits behind the
    service's own login - its session or `request.user`, which the mounted dashboard sees -
    instead of the dashboard's. Returns the dashboard's ASGI app."""
    dashboard = web.create_app(app, auth=auth, pages=pages, config=config)
    service.mount(path.rstrip("/") or "/", dashboard)
    return dashboard


def _stop_on_signals(job_runner: runner.Worker) -> Callable[[], None]:
    """Make SIGTERM/SIGINT stop the worker's claiming at once, then reach the server's own
    handler. Returns what restores the handlers. Off the main thread (a test client) signals
    cannot be handled: the server's shutdown alone stops the worker."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    loop = asyncio.get_running_loop()
    previous: dict[int, Any] = {}

    def handler(signum: int, frame: FrameType | None) -> None:
        loop.call_soon_threadsafe(job_runner.request_stop)
        chained = previous.get(signum)
        if callable(chained):
            chained(signum, frame)
        elif chained == signal.SIG_DFL:  # nobody else listens: stop as the default would
            signal.signal(signum, signal.SIG_DFL)
            signal.raise_signal(signum)

    for sig in (signal.SIGTERM, signal.SIGINT):
        previous[sig] = signal.signal(sig, handler)

    def restore() -> None:
        for sig, old in previous.items():
            if signal.getsignal(sig) is handler:
                signal.signal(sig, old)

    return restore


def _report_crash(task: asyncio.Task[int]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("the in-process worker stopped: %s", task.exception(), exc_info=task.exception())
