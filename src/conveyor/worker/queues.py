"""Which queues a worker serves, and which jobs it may take from each.

Told `--queues`: exactly those, in that order, and any job found there is taken (one whose
name this deploy does not know is retried later with backoff: a newer deploy may know it).

Not told: the queues its registered job types declare, then every other queue where a job of
a registered name waits (one enqueued with `options(queue=...)`). From those found queues only
jobs of registered names are claimed: a job this worker does not know is left for a worker
that does, and never burns an attempt here. Found queues are looked up with one cheap query
(a loose index scan, one probe per queue) every few seconds, never on every claim.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime

from conveyor import errors, model
from conveyor.app import Conveyor
from conveyor.backends import base

log = logging.getLogger("conveyor.worker")
LOOKUP_INTERVAL = 5.0
"""Seconds between look-ups of queues where jobs of registered names wait."""


def check_registered(app: Conveyor) -> None:
    """A worker without job types would take every job and fail it with `UnknownJob`."""
    if not app.registry.names():
        raise errors.ConfigurationError(
            "no job is registered in this application, so a worker would have nothing to "
            "run; point it at the module that declares the jobs (conveyor --app MODULE:APP "
            "worker, or $CONVEYOR_APP)")


class QueuePlan:
    """The queues to claim from: given ones, or the registered ones plus those found."""

    def __init__(self, app: Conveyor, queues: Sequence[str] = (),
                 lookup_interval: float = LOOKUP_INTERVAL) -> None:
        self.given = bool(queues)
        self.names = app.registry.names()
        self.served = list(queues) if queues else app.registry.queues()
        """Claimed from for any job, in this order."""
        self.found: list[str] = []
        """Queues of no registered job type where jobs of registered names wait."""
        self.lookup_interval = lookup_interval
        self._looked_at: float | None = None

    async def look(self, backend: base.Backend, *, now: bool = False) -> list[str]:
        """The found queues, looked up again when the last look is older than the interval
        (or `now`). A failed look keeps the previous answer."""
        if self.given:
            return []
        clock = asyncio.get_running_loop().time()
        if now or self._looked_at is None or clock - self._looked_at >= self.lookup_interval:
            self._looked_at = clock
            try:
                found = await backend.waiting_queues(self.names, self.served)
            except Exception as exc:
                log.warning("could not look for queues with jobs of this worker: %s", exc)
                return self.found
            if found != self.found:
                log.info("serving jobs of registered names waiting in queues: %s",
                         ", ".join(found) or "none")
            self.found = found
        return self.found

    async def claim(self, backend: base.Backend, limit: int, worker: str,
                    at: datetime) -> list[model.Job]:
        """Up to `limit` jobs: served queues first, then found ones (registered names only)."""
        jobs = await backend.claim(self.served, limit, worker, at)
        found = await self.look(backend)
        if found and len(jobs) < limit:
            jobs += await backend.claim(found, limit - len(jobs), worker, at, names=self.names)
        return jobs
