"""Run the async core from synchronous code without a thread hop on the common path.

Each calling thread gets a private event loop driven with `run_until_complete` (about 7 us
per call; `asyncio.Runner.run` costs 26 us because it swaps the SIGINT handler each time, and
a hand-off to another thread about 100 us). Code that calls the blocking API while its own
event loop is running cannot reuse that loop, so it falls back to a shared portal thread.
A backend whose driver blocks anyway (SQLite) is called directly instead, once it is open on
the thread's loop (`idle_loop`): no loop is crossed at all.
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
        self._loops: list[asyncio.AbstractEventLoop] = []
        self._portal: asyncio.AbstractEventLoop | None = None

    def run(self, make: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run the coroutine `make()` builds, from a thread with or without a running loop."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return self._own_loop().run_until_complete(make())
        return asyncio.run_coroutine_threadsafe(make(), self._portal_loop()).result()

    def idle_loop(self) -> asyncio.AbstractEventLoop | None:
        """This thread's private loop when it has one and no loop runs in the thread: the
        loop whose backend a blocking call may use directly (`Conveyor.insert_blocking`)."""
        if asyncio._get_running_loop() is not None:
            return None
        loop: asyncio.AbstractEventLoop | None = getattr(self._local, "loop", None)
        return loop

    def _own_loop(self) -> asyncio.AbstractEventLoop:
        loop: asyncio.AbstractEventLoop | None = getattr(self._local, "loop", None)
        if loop is None:
            loop = asyncio.new_event_loop()
            self._local.loop = loop
            with self._lock:
                self._loops.append(loop)
        return loop

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
            loops, self._loops = self._loops, []
            portal, self._portal = self._portal, None
        for loop in loops:
            if loop.is_running():  # in use on another thread right now: leave it be
                continue
            loop.run_until_complete(finalize())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
        self._local = threading.local()
        if portal is not None:
            asyncio.run_coroutine_threadsafe(finalize(), portal).result(timeout=10)
            portal.call_soon_threadsafe(portal.stop)
