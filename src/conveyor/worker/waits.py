"""Small waits of the worker's loop: the first of several, and a shutdown step that may fail."""

from __future__ import annotations

import asyncio
import logging

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


async def quietly(action: object) -> None:
    """Await a shutdown step; its failure is logged, and the shutdown goes on."""
    try:
        await action  # type: ignore[misc]
    except Exception as exc:
        log.warning("shutdown step failed: %s", exc)
