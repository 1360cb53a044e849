"""Point an application at a test database and a test clock, and put it back afterwards.

Your jobs are declared on your own application object, imported once per test session; each
test wants it on an empty database and a clock it controls. `attach` swaps the URL and the
clock, closes the connections the application had opened (on every event loop it used, so
no loop keeps a connection to the previous database), and restores both when the test ends.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
from collections.abc import Iterator

from conveyor import clock as clocks
from conveyor.app import Conveyor
from conveyor.backends import base, urls

log = logging.getLogger("conveyor.testing")


@contextlib.contextmanager
def attach(app: Conveyor, url: str | None = None,
           clock: clocks.Clock | None = None) -> Iterator[Conveyor]:
    """Within the block, `app` keeps its jobs at `url` and tells time by `clock` (either may
    be None: unchanged). Its connections are closed on the way in and on the way out."""
    if url is not None:
        urls.check_url(url)
    saved_url, saved_clock = app.url, app.clock
    release(app)
    if url is not None:
        app.url = url
    if clock is not None:
        app.clock = clock
    try:
        yield app
    finally:
        release(app)
        if url is not None:  # only what was swapped (an app may compute its URL itself)
            app.url = saved_url
        if clock is not None:
            app.clock = saved_clock


def release(app: Conveyor) -> None:
    """Close every connection `app` opened, on whichever event loop, and forget that it saw
    its tables migrated (the next database is checked, or migrated, again)."""
    app.close()
    backends = app._backends  # the app keeps one backend per event loop
    for loop, backend in list(backends.items()):
        backends.pop(loop, None)
        _close_on(loop, backend)
    app._migrated = False


def _close_on(loop: asyncio.AbstractEventLoop, backend: base.Backend) -> None:
    """Close `backend` on the loop that opened it, if that loop can still run it."""
    if loop.is_closed():
        return
    try:
        if not loop.is_running():
            loop.run_until_complete(backend.close())
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not loop:  # served by another thread: ask it
            asyncio.run_coroutine_threadsafe(backend.close(), loop).result(timeout=10)
    except (RuntimeError, concurrent.futures.TimeoutError) as exc:
        log.debug("left a connection of a finished test to the garbage collector: %s", exc)
