"""The claim-ahead buffer: how many jobs a worker claims, and the claimed jobs waiting for a
free slot.

The worker's loop asks it how many jobs to claim (its free slots, plus `pacing`'s jobs ahead
with `claim_ahead`) and puts what came back in it to `fill` the free slots; a slot that frees
up starts buffered jobs.
Its own module so the runner keeps the loop and the jobs' lives, and this the counting
between them. Buffered jobs are leased to the worker (`running` for it in storage); the
runner settles the ones a cancel request or a stop takes out of here.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Sized

from conveyor import model
from conveyor.worker import pacing, waits


class Buffer:
    """Claimed jobs (leased to this worker) waiting for a free slot, best first."""

    def __init__(self, concurrency: int, claim_ahead: bool, max_jobs: int | None,
                 running: Sized, stopping: asyncio.Event,
                 start: Callable[[list[model.Job]], None]) -> None:
        self.jobs: deque[model.Job] = deque()
        self.pacing = pacing.Pacing(concurrency)
        self.slot_freed = asyncio.Event()
        self._concurrency, self._claim_ahead, self._max_jobs = concurrency, claim_ahead, max_jobs
        self._running, self._stopping, self._start = running, stopping, start
        self._fill_due = False

    def __len__(self) -> int:
        return len(self.jobs)

    def room_now(self, started: int) -> int:
        """Jobs to claim now: the free slots and the buffer's room (within `max_jobs`), with
        `started` attempts started so far."""
        held = len(self._running) + len(self.jobs)
        ahead = self.pacing.ahead if self._claim_ahead else 0
        room = self._concurrency + ahead - held
        if self._max_jobs is not None:
            room = min(room, self._max_jobs - started - len(self.jobs))
        return room

    async def room(self, started: int) -> int:
        """Jobs to claim; waits for a slot to free up when there is no room, and briefly
        for more when nearly full so claims stay batched under load."""
        room = self.room_now(started)
        if room <= 0:
            self.slot_freed.clear()
            await waits.first(self.slot_freed.wait(), self._stopping.wait())
            return 0
        if self._running and room < max(1, self._concurrency // 4):
            await asyncio.sleep(0.001)
            room = self.room_now(started)
        return max(0, room)

    def fill(self) -> None:
        """Start buffered jobs in the free slots (not once stopping: they go back)."""
        self._fill_due = False
        free = self._concurrency - len(self._running)
        if free <= 0 or not self.jobs or self._stopping.is_set():
            return
        self._start([self.jobs.popleft() for _ in range(min(free, len(self.jobs)))])

    def freed(self) -> None:
        """A slot freed up: the fetch loop may claim, and buffered jobs start on the loop's
        next turn (one lane for all the slots freed meanwhile)."""
        self.pacing.ended()
        self.slot_freed.set()
        if self.jobs and not self._fill_due:
            self._fill_due = True
            asyncio.get_running_loop().call_soon(self.fill)

    def take(self, job_id: int) -> model.Job | None:
        """Take out the buffered job `job_id` (a cancel request); None if it is not here."""
        job = next((job for job in self.jobs if job.id == job_id), None)
        if job is not None:
            self.jobs.remove(job)
        return job

    def drain(self) -> list[model.Job]:
        """Take out every buffered job (stopping: they go back unstarted)."""
        jobs = list(self.jobs)
        self.jobs.clear()
        return jobs
