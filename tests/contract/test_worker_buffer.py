"""Jobs a worker claimed ahead of its free slots (its buffer) are its own: they start as slots
free up, a cancel request settles one cancelled without running it, stopping hands the rest
back unstarted with the attempt refunded, and `max_jobs` counts them."""

from __future__ import annotations

import asyncio

import pytest

from conveyor import Conveyor, JobState
from conveyor.worker import pacing, runner

S = JobState


def _worker(app: Conveyor, **config: object) -> runner.Worker:
    return runner.Worker(app, runner.WorkerConfig(claim_ahead=True,
        concurrency=1, leader=False, heartbeat_thread=False, install_signals=False,
        idle_wait=0.05, **config))  # type: ignore[arg-type]


async def test_buffered_jobs_are_cancelled_unrun_and_handed_back_on_stop(
        app: Conveyor, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pacing.Pacing, "ahead", property(lambda self: 2))
    gate = asyncio.Event()
    ran: list[int] = []

    @app.job(name="held")
    async def held(n: int) -> None:
        ran.append(n)
        if n == 0:
            await gate.wait()

    jobs = [await held.aenqueue(n) for n in range(4)]
    worker = _worker(app)
    running = asyncio.create_task(worker.run())
    try:
        for _ in range(400):  # the first runs, the next two wait in the buffer
            if ran and len(worker._buffer) == 2:
                break
            await asyncio.sleep(0.01)
        states = [(await app.aget(job.id)).state for job in jobs]
        assert (ran, states) == ([0], [S.RUNNING, S.RUNNING, S.RUNNING, S.AVAILABLE])
        worker.cancel_running([jobs[1].id])
        worker.request_stop()
        gate.set()
    finally:
        worker.request_stop()
        gate.set()
        await running
    stored = [await app.aget(job.id) for job in jobs]
    assert ran == [0]
    assert [(job.state, job.attempt) for job in stored] == [
        (S.COMPLETED, 1), (S.CANCELLED, 1), (S.AVAILABLE, 0), (S.AVAILABLE, 0)]
    await app.aclose()


async def test_max_jobs_counts_the_buffered_jobs(app: Conveyor,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pacing.Pacing, "ahead", property(lambda self: 3))

    @app.job(name="quick")
    async def quick(n: int) -> None: ...

    jobs = [await quick.aenqueue(n) for n in range(5)]
    assert await asyncio.wait_for(_worker(app, max_jobs=2).run(), 30) == 2
    stored = [await app.aget(job.id) for job in jobs]
    assert [(job.state, job.attempt) for job in stored] == [
        (S.COMPLETED, 1), (S.COMPLETED, 1), (S.AVAILABLE, 0), (S.AVAILABLE, 0),
        (S.AVAILABLE, 0)]
    await app.aclose()
