"""A worker process's signals. The first SIGTERM/SIGINT stops claiming (running jobs get the
grace period); a second hands the running jobs back at once (best effort, within
`FORCED_EXIT_DEADLINE`) and exits, even when a job blocks the loop; a third exits outright.
Signals that arrive while the application still loads are remembered (`catch_early`)."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from collections.abc import Awaitable, Callable

log = logging.getLogger("conveyor.worker")
FORCED_EXIT_DEADLINE = 5.0
"""Seconds a second signal gives the worker to hand its running jobs back before exiting."""
_EARLY: list[signal.Signals] = []


def catch_early() -> None:
    """Remember SIGTERM/SIGINT that arrive before the worker's loop takes them over
    (importing the application, migrating), so stopping then still exits cleanly."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, _frame: _EARLY.append(signal.Signals(signum)))


class Signals:
    """The signal handlers of one worker: `stop` on the first, `hand_back` (returns how many
    running jobs it handed back) then exit on the second."""

    def __init__(self, stop: Callable[[], None], hand_back: Callable[[str], Awaitable[int]],
                 grace: float) -> None:
        self.stop, self.hand_back, self.grace = stop, hand_back, grace
        self.received = 0

    def install(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.on_signal, sig)
        if _EARLY:  # signalled while the app was still loading: a clean stop
            self.on_signal(_EARLY[0])

    def on_signal(self, sig: signal.Signals) -> None:
        self.received += 1
        if self.received > 2:
            os._exit(1)
        if self.received == 2:
            log.warning("second %s: handing running jobs back and exiting at once", sig.name)
            # Bounded even when the loop is stuck (a job blocking it): exit regardless.
            timer = threading.Timer(FORCED_EXIT_DEADLINE, os._exit, (1,))
            timer.daemon = True
            timer.start()
            asyncio.get_running_loop().create_task(self._hand_back_and_exit())
            return
        log.info("%s: stop claiming, finishing running jobs (grace %.0fs)", sig.name,
                 self.grace)
        self.stop()

    async def _hand_back_and_exit(self) -> None:
        """Running jobs go back to `available` (attempt refunded) and finished ones are
        settled, in one write, best effort within the deadline; then exit."""
        try:
            handed = await asyncio.wait_for(
                self.hand_back("interrupted by shutdown (forced by a second signal)"),
                FORCED_EXIT_DEADLINE)
            if handed:
                log.warning("handed %d running jobs back", handed)
        except BaseException as exc:
            log.warning("could not hand the running jobs back (%s); they are rescued once "
                        "this worker's heartbeat is older than the lease timeout", exc)
        finally:
            os._exit(1)
