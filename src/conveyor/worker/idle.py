"""What a worker does when a claim found nothing: wait for a wake-up, or end a burst.

Its own module so the runner keeps claiming and running jobs, and this the waits between
claims: how long to sleep when no notification will come (a rate key freeing up), and when a
burst worker has nothing left to run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sized
from typing import Any

from conveyor import clock as clocks
from conveyor.app import Conveyor
from conveyor.backends import base
from conveyor.worker import leader, queues, settle, waits


class Idle:
    """The idle waits of one worker, and the rounds it counts to know when to claim again
    soon or to end a burst."""

    def __init__(self, app: Conveyor, plan: queues.QueuePlan, *, burst: bool,
                 idle_wait: float, running: Sized, stopping: asyncio.Event,
                 slot_freed: asyncio.Event) -> None:
        self.app, self.plan, self.burst, self.idle_wait = app, plan, burst, idle_wait
        self._running, self._stopping, self._slot_freed = running, stopping, slot_freed
        self.rate_limited = any(t.limits is not None and t.limits.rates
                                for t in app.registry.types())
        """A job type here declares a rate limit. Decided once: like the queue plan, a
        worker serves the job types registered when it was made."""
        self.stopped: asyncio.Future[Any] | None = None
        """Ends as the worker stops; one for every idle wait (pending if it never stopped)."""
        self._empty_rounds = 0
        self._freed_rounds = 0

    def progressed(self) -> None:
        """A claim brought something new to run: the rounds count from zero again."""
        self._empty_rounds = self._freed_rounds = 0

    async def wait(self, backend: base.Backend, settler: settle.Settler) -> bool:
        """Nothing was claimed. Returns True when a burst worker is done."""
        if self.burst:
            if self._running:
                self._slot_freed.clear()  # first: a job may end while staging awaits
                await leader.stage_all(self.app, backend)  # due retries start alongside
                if self._running:
                    await waits.first(self._slot_freed.wait(), self._stopping.wait())
                return False
            # Done after a second round with nothing new to run once everything is settled:
            # the settled jobs may have enqueued more. Jobs a limit holds back do not count
            # as due, nor do jobs that snoozed during this burst (Snooze(0) would spin).
            await settler.flush()
            staged = await leader.stage_all(self.app, backend)
            await self.plan.look(backend, now=True)
            if not staged and await self._wait_for_rate_hold(backend):
                return False
            self._empty_rounds += 1
            return self._empty_rounds >= 2
        # The look-up runs before the wait, never beside it: a wake-up would cancel it in
        # flight, and cancelling a PostgreSQL query costs a cancel request of its own.
        stopped = self.stopped
        if stopped is None:
            stopped = self.stopped = asyncio.ensure_future(self._stopping.wait())
        await waits.until(backend.wait(self.plan.served, await self.seconds(backend)), stopped)
        return False

    async def _wait_for_rate_hold(self, backend: base.Backend) -> bool:
        """Burst: jobs held only by a rate limit are due, so wait for their key's next slot
        (up to a minute). False when there is none, or when the app's clock does not move by
        itself (a frozen test clock: its owner steps it), so the burst can end."""
        if not clocks.moves(self.app.clock):
            return False
        now = self.app.clock.now()
        wake = await backend.next_unblock(now)
        if wake is None or wake <= now or (wake - now).total_seconds() > 60:
            return False
        await waits.first(asyncio.sleep((wake - now).total_seconds()), self._stopping.wait())
        return self.app.clock.now() >= wake

    async def seconds(self, backend: base.Backend) -> float:
        """Sleep at most until the next rate key frees up (no notification comes for it).
        No job type here declares a rate limit: no job this worker runs waits on a key, so
        no look-up (a round trip, and a query on the server, each time the worker idles)."""
        if not self.rate_limited:
            return self.idle_wait
        try:
            wake = await backend.next_unblock(self.app.clock.now())
        except Exception:
            return self.idle_wait
        if wake is None:
            return self.idle_wait
        until = (wake - self.app.clock.now()).total_seconds()
        if until > 0:
            self._freed_rounds = 0
            return min(self.idle_wait, until)
        # A key freed while the claim found nothing: claim again soon, backing off in case
        # its jobs cannot be claimed here for another reason (a queue not served).
        self._freed_rounds += 1
        return min(self.idle_wait, 0.001 * 2.0 ** min(self._freed_rounds, 10))
