"""`conveyor worker --processes N`: keep N worker processes running.

Children are ordinary `conveyor worker` processes. When one exits:
- with 0 after `--max-jobs`/`--max-time` (recycling), it is replaced at once;
- with `--burst`, exiting with 0 means it drained: it is done and not replaced, and the
  supervisor exits once every child is done (0, or 1 if any child failed);
- failing (a non-zero code or a signal), it is replaced after a pause that doubles while it
  keeps failing soon after start (0.5 s, 1 s, 2 s...). After `START_FAILURES` such failures
  in a row (database down, tables missing under `--no-migrate`) the supervisor gives up: it
  stops the other children and exits 1, saying why.
SIGTERM/SIGINT are passed on to every child and the supervisor exits when they have all
stopped; a second signal is passed on too (children then exit at once).
"""

from __future__ import annotations

import dataclasses
import logging
import signal
import subprocess
import time
from collections.abc import Sequence
from types import FrameType

log = logging.getLogger("conveyor.supervisor")
START_FAILURES = 5
"""Failures in a row soon after start before the supervisor gives up."""
SETTLED_AFTER = 10.0
"""A child that has run this long has started fine: its next failure is not a start failure."""


@dataclasses.dataclass
class _Slot:
    """One of the N places a worker process runs in."""

    child: subprocess.Popen[bytes] | None
    started: float
    failures: int = 0
    """Failures in a row soon after start."""
    respawn_at: float = 0.0
    done: bool = False


class Supervisor:
    def __init__(self, command: Sequence[str], processes: int, *, burst: bool = False,
                 first_pause: float = 0.5) -> None:
        self.command = list(command)
        self.processes = processes
        self.burst = burst
        self.first_pause = first_pause
        self.slots: list[_Slot] = []
        self.stopping = False
        self.replaced = 0
        self.failed = False
        self.gave_up = False

    @property
    def children(self) -> list[subprocess.Popen[bytes]]:
        return [slot.child for slot in self.slots if slot.child is not None]

    def run(self) -> int:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)
        self.slots = [_Slot(self._spawn(), time.monotonic()) for _ in range(self.processes)]
        while not self.stopping and not self.gave_up:
            time.sleep(0.2)
            for slot in self.slots:
                if not self.stopping:
                    self._tend(slot, time.monotonic())
            if all(slot.done for slot in self.slots):
                log.info("every worker process drained its queues")
                return 1 if self.failed else 0
        if self.gave_up:
            self._pass_on(signal.SIGTERM)
        codes = [child.wait() for child in self.children]
        if self.gave_up:
            return 1
        # A child still starting up (before its handlers exist) dies of the signal we passed
        # on; it had claimed nothing, so that is a clean stop too.
        clean = {0, -signal.SIGTERM, -signal.SIGINT}
        return 0 if all(code in clean for code in codes) else 1

    def _tend(self, slot: _Slot, now: float) -> None:
        """Start a due replacement, or look at how the slot's child is doing."""
        if slot.done:
            return
        if slot.child is None:
            if now >= slot.respawn_at:
                slot.child, slot.started = self._spawn(), now
                self.replaced += 1
            return
        code = slot.child.poll()
        if code is None:
            if now - slot.started >= SETTLED_AFTER:
                slot.failures = 0
            return
        pid, lived = slot.child.pid, now - slot.started
        slot.child = None
        if code == 0 and self.burst:
            log.info("worker process %d is done (drained, or reached its limit)", pid)
            slot.done = True
        elif code == 0:
            log.info("worker process %d stopped at its --max-jobs/--max-time; replacing it",
                     pid)
            slot.failures, slot.respawn_at = 0, now
        else:
            self._failed(slot, pid, code, lived, now)

    def _failed(self, slot: _Slot, pid: int, code: int, lived: float, now: float) -> None:
        self.failed = True
        slot.failures = slot.failures + 1 if lived < SETTLED_AFTER else 1
        if slot.failures >= START_FAILURES:
            log.error("worker processes keep failing at start (%d times in a row, last exit "
                      "code %s); giving up - see their errors above", slot.failures, code)
            self.gave_up = True
            return
        pause = min(30.0, self.first_pause * 2 ** (slot.failures - 1))
        log.warning("worker process %d exited with %s after %.1fs; replacing it in %.1fs",
                    pid, code, lived, pause)
        slot.respawn_at = now + pause

    def _spawn(self) -> subprocess.Popen[bytes]:
        # Own session: a terminal's Ctrl-C reaches only the supervisor, which passes it on
        # once; otherwise each child would see it twice and exit at once.
        child = subprocess.Popen(self.command, start_new_session=True)
        log.info("started worker process %d", child.pid)
        return child

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self.stopping = True
        self._pass_on(signum)

    def _pass_on(self, signum: int) -> None:
        for child in self.children:
            if child.poll() is None:
                child.send_signal(signum)


def supervise(command: Sequence[str], processes: int, *, burst: bool = False) -> int:
    return Supervisor(command, processes, burst=burst).run()
