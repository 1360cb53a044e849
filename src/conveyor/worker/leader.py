"""Periodic chores done by exactly one process at a time: the holder of the leader lease.

Staging makes due scheduled and retryable jobs available; rescue returns jobs of workers that
stopped heartbeating; pruning deletes finished jobs past their retention. Leadership is a
lease with a TTL, renewed each round, so a dead leader is replaced within one TTL.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from conveyor import encoding, model
from conveyor.app import Conveyor
from conveyor.backends import base

log = logging.getLogger("conveyor.leader")
LEASE_NAME = "leader"
STAGE_BATCH = 5000


class Leader:
    """Runs `run_once` every `stage_interval` while this worker holds the lease."""

    def __init__(self, app: Conveyor, backend: base.Backend, holder: str) -> None:
        self.app = app
        self.backend = backend
        self.holder = holder
        self.is_leader = False
        self._last_rescue = 0.0
        self._last_prune = 0.0

    async def run_forever(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception as exc:  # storage trouble: try again next round
                log.warning("leader round failed: %s", exc)
            await asyncio.sleep(self.app.settings.stage_interval)

    async def run_once(self, *, force_rescue: bool = False) -> None:
        settings = self.app.settings
        ttl = max(settings.stage_interval * 3, 5.0)
        self.is_leader = await self.backend.lease(LEASE_NAME, self.holder, ttl,
                                                  self.app.clock.now())
        if not self.is_leader:
            return
        await stage_all(self.app, self.backend)
        loop_time = asyncio.get_running_loop().time()
        if force_rescue or loop_time - self._last_rescue >= settings.rescue_interval:
            self._last_rescue = loop_time
            await rescue(self.app, self.backend)
        if loop_time - self._last_prune >= settings.prune_interval:
            self._last_prune = loop_time
            await prune(self.app, self.backend)

    async def resign(self) -> None:
        if self.is_leader:
            await self.backend.release(LEASE_NAME, self.holder)
            self.is_leader = False


async def stage_all(app: Conveyor, backend: base.Backend) -> int:
    """Stage every due job, in batches so no statement holds the table for long."""
    total = 0
    while True:
        moved = await backend.stage(app.clock.now(), STAGE_BATCH)
        total += moved
        if moved < STAGE_BATCH:
            return total


async def prune(app: Conveyor, backend: base.Backend, batch: int = 1000) -> int:
    """Delete final jobs past their retention, `batch` rows per statement so no write holds
    the table for long; other writers get their turn between batches."""
    total = 0
    for state, keep_seconds in app.settings.retention:
        cutoff = app.clock.now() - timedelta(seconds=keep_seconds)
        while (deleted := await backend.prune(state, cutoff, batch)) > 0:
            total += deleted
            await asyncio.sleep(0)
            if deleted < batch:
                break
    if total:
        log.info("pruned %d finished jobs past retention", total)
    return total


async def rescue(app: Conveyor, backend: base.Backend) -> int:
    now = app.clock.now()
    error = model.JobError(attempt=0, at=now, type="WorkerLost",
                           message="worker lost: it stopped heartbeating while the job ran")
    count = await backend.rescue(now - timedelta(seconds=app.settings.lease_timeout), now,
                                 encoding.dumps(error.to_json(), what="error"),
                                 app.settings.max_errors)
    if count:
        log.warning("rescued %d jobs of lost workers", count)
    return count
