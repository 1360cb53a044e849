"""The demo's worker processes: `conveyor --app <app> worker --processes N`, started in a
session of its own so a terminal's Ctrl-C reaches only the demo, which passes the stop on.

The supervisor (`conveyor worker --processes`) keeps N worker processes running; its leader
fires the cron schedules. On SIGTERM it passes the signal to every worker, each finishes or
hands back its jobs, and the supervisor exits once they all have; a second SIGTERM makes the
workers exit at once. `stop()` waits for that, escalating only if a stage overruns.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence

WORKER_GRACE = 5.0
"""Seconds a worker's running jobs get to finish after SIGTERM before they are handed back
(a campaign chunk pacing its sends could otherwise hold the stop for half a minute)."""
GRACE = WORKER_GRACE + 15.0
"""Seconds the supervisor gets to stop its workers after the first SIGTERM."""
HURRY = 10.0
"""Seconds after the second SIGTERM before the supervisor is killed."""


class Workers:
    def __init__(self, app_ref: str, *, processes: int, env: Mapping[str, str],
                 cwd: str, extra: Sequence[str] = ()) -> None:
        self.command = [sys.executable, "-m", "conveyor", "--app", app_ref, "worker",
                        "--processes", str(processes), "--grace", f"{WORKER_GRACE:g}",
                        *extra]
        self.env = dict(env)
        self.cwd = cwd
        self.process: subprocess.Popen[bytes] | None = None

    def describe(self) -> str:
        return "conveyor " + " ".join(self.command[3:])

    def start(self) -> Workers:
        self.process = subprocess.Popen(self.command, env=self.env, cwd=self.cwd,
                                        start_new_session=True)
        return self

    def exit_code(self) -> int | None:
        """None while the supervisor runs, else its exit code."""
        return None if self.process is None else self.process.poll()

    def hurry(self) -> None:
        """A second stop request: workers exit at once, handing back their jobs."""
        self._signal(signal.SIGTERM)

    def stop(self) -> int:
        """Stop the workers (graceful first) and return the supervisor's exit code."""
        if self.process is None:
            return 0
        for stage, wait in ((signal.SIGTERM, GRACE), (signal.SIGTERM, HURRY)):
            self._signal(stage)
            try:
                return self.process.wait(wait)
            except subprocess.TimeoutExpired:
                continue
        print("the worker supervisor did not stop; killing it", file=sys.stderr, flush=True)
        os.killpg(self.process.pid, signal.SIGKILL)
        return self.process.wait()

    def _signal(self, signum: int) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signum)
