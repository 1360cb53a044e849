"""Small waits of the worker's loop: the first of several, and shutdown steps that may fail
or never end."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Collection
from typing import Any

log = logging.getLogger("conveyor.worker")


async def first(*aws: object) -> None:
    """Wait until the first of several awaitables finishes; cancel the others."""
    tasks = [asyncio.ensure_future(aw) for aw in aws]  # type: ignore[call-overload]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def until(aw: Awaitable[Any], stop: asyncio.Future[Any]) -> None:
    """Wait until `aw` finishes or `stop` does (then `aw` is cancelled). `stop` is left as it
    is, so one long-lived future serves every such wait, and a wake-up takes fewer turns of
    the loop than `first` (which makes a task of each side and cancels the loser)."""
    task = asyncio.ensure_future(aw)
    try:
        await asyncio.wait((task, stop), return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        elif not task.cancelled():
            task.exception()  # a failed wait ends the wait, as with `first`


async def quietly(action: object) -> None:
    """Await a shutdown step; its failure is logged, and the shutdown goes on."""
    try:
        await action  # type: ignore[misc]
    except Exception as exc:
        log.warning("shutdown step failed: %s", exc)


async def cancel(tasks: Collection[asyncio.Future[Any]], deadline: float) -> None:
    """Cancel `tasks` and wait for them, at most `deadline` seconds. A task that swallows
    its cancellation (a connection pool's `getconn` can lose one while the pool grows) is
    logged and left behind rather than hanging the shutdown."""
    for task in tasks:
        task.cancel()
    if not tasks:
        return
    _, late = await asyncio.wait(tasks, timeout=deadline)
    for task in late:
        name = task.get_name() if isinstance(task, asyncio.Task) else repr(task)
        log.warning("shutdown: %s did not end within %gs of its cancellation; left behind",
                    name, deadline)


async def bounded(action: Any, deadline: float, what: str) -> None:
    """Await a shutdown step for at most `deadline` seconds; its failure or its overrun is
    logged, and the shutdown goes on."""
    task = asyncio.ensure_future(action)
    done, _ = await asyncio.wait({task}, timeout=deadline)
    if not done:
        task.cancel()
        log.warning("shutdown: %s did not finish within %gs; going on", what, deadline)
    elif not task.cancelled() and task.exception() is not None:
        log.warning("shutdown: %s failed: %s", what, task.exception())
