"""Keep a worker's books exact against storage.

The leader rescues running jobs only when their worker stops heartbeating, so a job that
storage holds `running` for a live worker that no longer runs it would never be rescued: the
worker's own heartbeat would keep it alive. Every job task ends by handing an outcome to the
settler, so this should not happen; this watch makes sure it cannot last. Each round compares
storage's view with the worker's (running tasks, outcomes waiting to be written); a job seen
missing from the worker's books twice in a row, at the same attempt, is an orphan and is
failed (retried, or discarded when out of attempts) like a job of a lost worker.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from conveyor import model
from conveyor.backends import base

log = logging.getLogger("conveyor.worker")


class LostTrack(Exception):
    """Storage held this job running for the worker, but the worker was not running it."""


async def watch(backend: base.Backend, worker: str, interval: float,
                tracked: Callable[[], set[int]], claiming: Callable[[], bool],
                orphaned: Callable[[model.Job], None]) -> None:
    """Every `interval` seconds, hand each orphan to `orphaned`. `tracked` gives the ids the
    worker knows of; no round looks while `claiming` (claimed rows not yet tracked)."""
    suspects: dict[int, int] = {}
    while True:
        await asyncio.sleep(interval)
        if claiming():
            continue
        try:
            held = await backend.running_jobs(worker)
        except Exception as exc:  # storage trouble: look again next round
            log.warning("could not check the running jobs of worker %s: %s", worker, exc)
            continue
        known = tracked()
        if claiming():  # a claim started while storage was asked: its rows may be missing
            continue
        missing = {job.id: job for job in held if job.id not in known}
        for job in missing.values():
            if suspects.get(job.id) == job.attempt:
                log.error("job %s %s attempt %d: storage holds it running for worker %s, "
                          "which does not run it; failing it so it can run again", job.id,
                          job.name, job.attempt, worker)
                orphaned(job)
        suspects = {job.id: job.attempt for job in missing.values()}
