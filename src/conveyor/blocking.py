"""Run the async core from synchronous code without a thread hop on the common path.

Each calling thread gets a private event loop (about 8 us per call, against ~100 us for a
hand-off to another thread). Code that calls the blocking API while its own event loop is
running cannot reuse that loop, so it falls back to a shared portal thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class BlockingRunner:
    """Runs coroutines to completion for blocking callers, on any thread."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()
        self._runners: list[asyncio.Runner] = []
        self._portal: asyncio.AbstractEventLoop | None = None

    def run(self, make: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run the coroutine `make()` builds, from a thread with or without a running loop."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return self._runner().run(make())
        return asyncio.run_coroutine_threadsafe(make(), self._portal_loop()).result()

    def _runner(self) -> asyncio.Runner:
        runner: asyncio.Runner | None = getattr(self._local, "runner", None)
        if runner is None:
            runner = asyncio.Runner()
            self._local.runner = runner
            with self._lock:
                self._runners.append(runner)
        return runner

    def _portal_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._portal is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="conveyor-portal",
                                 daemon=True).start()
                self._portal = loop
            return self._portal

    def close(self, finalize: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run `finalize()` on every private loop (e.g. to close connections), then close them."""
        with self._lock:
            runners, self._runners = self._runners, []
            portal, self._portal = self._portal, None
        for runner in runners:
            try:
                runner.run(finalize())
            except RuntimeError:  # that loop is running on another thread right now
                continue
            runner.close()
        self._local = threading.local()
        if portal is not None:
            asyncio.run_coroutine_threadsafe(finalize(), portal).result(timeout=10)
            portal.call_soon_threadsafe(portal.stop)
