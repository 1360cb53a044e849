"""Tell storage this worker is alive, from a thread a busy event loop cannot starve.

The thread has its own event loop and its own connection, so a CPU-bound job that blocks
the worker's loop does not stop heartbeats, and the leader never rescues a healthy job. The
answer to each beat carries operator cancel requests for this worker's running jobs.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Sequence

from conveyor import clock as clocks
from conveyor.app import Conveyor
from conveyor.backends import base

log = logging.getLogger("conveyor.worker")


class HeartbeatThread:
    """Beats every `interval` seconds until stopped."""

    def __init__(self, app: Conveyor, worker_id: str, queues: Sequence[str],
                 interval: float, on_cancel: Callable[[list[int]], object]) -> None:
        self.app = app
        self.on_cancel = on_cancel
        self.worker_id = worker_id
        self.queues = list(queues)
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, name="conveyor-heartbeat",
                                        daemon=True)
        self.beats = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval + 5)

    def _main(self) -> None:
        asyncio.run(self._beat_until_stopped())

    async def _beat_until_stopped(self) -> None:
        backend = self.app.open_backend()
        try:
            while not self._stop.is_set():
                cancel = await beat(self.app, backend, self.worker_id, self.queues)
                if cancel:
                    self.on_cancel(cancel)
                self.beats += 1
                await asyncio.to_thread(self._stop.wait, self.interval)
        finally:
            await backend.close()


async def beat(app: Conveyor, backend: base.Backend, worker_id: str,
               queues: Sequence[str]) -> list[int]:
    """One heartbeat; returns the ids of running jobs to cancel. Failures are logged
    (storage may be down) and the next beat tries again."""
    try:
        return await backend.heartbeat(worker_id, queues, app.clock.now(),
                                       database_clock=clocks.is_wall(app.clock))
    except Exception as exc:
        log.warning("heartbeat of worker %s failed: %s", worker_id, exc)
        return []
