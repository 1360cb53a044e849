"""Periodic chores done by exactly one process at a time: the holder of the leader lease.

Staging makes due scheduled and retryable jobs available; cron fires due schedule slots;
rescue returns jobs of workers that stopped heartbeating; pruning deletes finished jobs (and
finished batches) past their retention. Leadership is a
lease with a TTL, renewed each round, so a dead leader is replaced within one TTL.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from conveyor import clock as clocks
from conveyor import crontab, encoding, model
from conveyor.app import Conveyor
from conveyor.backends import base
from conveyor.worker.rescue_rules import RescueRules

log = logging.getLogger("conveyor.leader")
LEASE_NAME = "leader"
STAGE_BATCH = 5000


class Leader:
    """Runs `run_once` every `stage_interval` while this worker holds the lease; when to
    rescue and prune is decided by `RescueRules` on the app's clock."""

    def __init__(self, app: Conveyor, backend: base.Backend, holder: str) -> None:
        self.app = app
        self.backend = backend
        self.holder = holder
        self.is_leader = False
        self.rules = RescueRules(app.settings)
        self.scheduler = crontab.Scheduler(app.schedules, backend)
        self._declared = False

    async def run_forever(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception as exc:  # storage trouble: try again next round
                log.warning("leader round failed: %s", exc)
            await asyncio.sleep(self.app.settings.stage_interval)

    async def run_once(self, *, force_rescue: bool = False) -> None:
        settings, rules = self.app.settings, self.rules
        # A dead leader is replaced within a third of a lease timeout (5 s at most), well
        # before its own orphans turn stale: they are rescued as soon as the timeout allows,
        # even when the next leader dies too.
        ttl = max(settings.stage_interval * 3, min(5.0, settings.lease_timeout / 3))
        started = self._seconds()
        young = rules.young(started)
        if not self._declared:  # every worker: an app that never leads still has its
            try:                # schedules stored and fired
                await self.scheduler.declare(self.app.clock.now())
                self._declared = True
            except Exception:  # never keeps this worker from leading; tried next round
                log.exception("cron schedules could not be stored this round")
        # Seniority: a worker too young to witness a rescue takes a dead leader's place only
        # when no older worker has for two lease terms, so a killed leader's orphans are not
        # held up by its freshly started replacement.
        self.is_leader = await self.backend.lease(LEASE_NAME, self.holder, ttl,
                                                  self.app.clock.now(),
                                                  patience=2 * ttl if young else 0.0)
        rules.leased(started, self._seconds())
        if not self.is_leader:
            return
        await stage_all(self.app, self.backend)
        try:
            await self.scheduler.tick(self.app.clock.now())
        except Exception:  # a schedule that cannot fire must not stop rescue and pruning
            log.exception("cron schedules could not fire this round")
        now = self._seconds()
        if rules.may_rescue(started, now, force=force_rescue):
            await rescue(self.app, self.backend, witness=self.holder)
        if rules.may_prune(now):
            await prune(self.app, self.backend)

    def _seconds(self) -> float:
        return clocks.monotonic(self.app.clock)

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
    the table for long; other writers get their turn between batches. Also forgets batches,
    crashed workers and metrics minutes past theirs."""
    total = 0
    for state, keep_seconds in app.settings.retention:
        cutoff = app.clock.now() - timedelta(seconds=keep_seconds)
        while (deleted := await backend.prune(state, cutoff, batch)) > 0:
            total += deleted
            await asyncio.sleep(0)
            if deleted < batch:
                break
    keep = max((seconds for _, seconds in app.settings.retention), default=0.0)
    cutoff = app.clock.now() - timedelta(seconds=keep)
    for _ in range(100):  # bounded per round; the next round goes on
        if await backend.prune_batches(cutoff, batch) < batch:
            break
    await backend.prune_workers(
        app.clock.now() - timedelta(seconds=app.settings.dead_worker_retention))
    await backend.prune_metrics(
        app.clock.now() - timedelta(seconds=app.settings.metrics_retention))
    if total:
        log.info("pruned %d finished jobs past retention", total)
    return total


async def rescue(app: Conveyor, backend: base.Backend, witness: str | None = None) -> int:
    """Rescue jobs of silent workers. The `witness` (this worker) must have been up and
    heartbeat within half a lease timeout, so a database stall that silenced everyone, or a
    worker that just started after one, rescues nothing."""
    now = app.clock.now()
    repaired = await backend.repair(now, app.settings.max_errors)
    if repaired:
        log.warning("resolved dependants of %d ended jobs left unresolved", repaired)
    error = model.JobError(attempt=0, at=now, type="WorkerLost",
                           message="worker lost: it stopped heartbeating while the job ran")
    count = await backend.rescue(now - timedelta(seconds=app.settings.lease_timeout), now,
                                 encoding.dumps(error.to_json(), what="error"),
                                 app.settings.max_errors, witness,
                                 now - timedelta(seconds=app.settings.lease_timeout / 2),
                                 database_clock=clocks.is_wall(app.clock))
    if count:
        log.warning("rescued %d jobs of lost workers", count)
    return count
