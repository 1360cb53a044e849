"""`conveyor worker --processes N`: keep N worker processes alive.

Children are ordinary `conveyor worker` processes. A child that dies is replaced (with a short
backoff when it keeps dying at start); SIGTERM/SIGINT are passed on to every child and the
supervisor exits when they have all stopped; a second signal is passed on too (children then
exit at once).
"""

from __future__ import annotations

import logging
import signal
import subprocess
import time
from collections.abc import Sequence
from types import FrameType

log = logging.getLogger("conveyor.supervisor")


class Supervisor:
    def __init__(self, command: Sequence[str], processes: int) -> None:
        self.command = list(command)
        self.processes = processes
        self.children: list[subprocess.Popen[bytes]] = []
        self.stopping = False
        self.replaced = 0

    def run(self) -> int:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)
        self.children = [self._spawn() for _ in range(self.processes)]
        started = {child.pid: time.monotonic() for child in self.children}
        while not self.stopping:
            time.sleep(0.2)
            for index, child in enumerate(self.children):
                if child.poll() is None or self.stopping:
                    continue
                lived = time.monotonic() - started.pop(child.pid, 0.0)
                log.warning("worker process %d exited with %s after %.1fs; replacing it",
                            child.pid, child.returncode, lived)
                if lived < 2.0:
                    time.sleep(1.0)  # crash-looping: don't spin
                replacement = self._spawn()
                started[replacement.pid] = time.monotonic()
                self.children[index] = replacement
                self.replaced += 1
        codes = [child.wait() for child in self.children]
        # A child still starting up (before its handlers exist) dies of the signal we passed
        # on; it had claimed nothing, so that is a clean stop too.
        clean = {0, -signal.SIGTERM, -signal.SIGINT}
        return 0 if all(code in clean for code in codes) else 1

    def _spawn(self) -> subprocess.Popen[bytes]:
        # Own session: a terminal's Ctrl-C reaches only the supervisor, which passes it on
        # once; otherwise each child would see it twice and exit at once.
        child = subprocess.Popen(self.command, start_new_session=True)
        log.info("started worker process %d", child.pid)
        return child

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self.stopping = True
        for child in self.children:
            if child.poll() is None:
                child.send_signal(signum)


def supervise(command: Sequence[str], processes: int) -> int:
    return Supervisor(command, processes).run()
