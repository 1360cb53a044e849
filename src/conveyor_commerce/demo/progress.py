"""A status line in the demo's terminal every few seconds - jobs by state, then one figure
group per system (`reporters`) - so the flow is visible without opening the dashboard."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Sequence

from conveyor import Conveyor, JobState

Reporter = Callable[[], str]
SHOWN = (JobState.COMPLETED, JobState.RUNNING, JobState.AVAILABLE, JobState.SCHEDULED,
         JobState.RETRYABLE, JobState.DISCARDED)


class ProgressLine:
    """`ProgressLine(url, reporters).start()`; `.stop()`. Reads through its own application
    object, so it shares nothing with the dashboard's."""

    def __init__(self, url: str, reporters: Sequence[Reporter], *, every: float = 10.0) -> None:
        self.url = url
        self.reporters = list(reporters)
        self.every = every
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-progress", daemon=True)

    def start(self) -> ProgressLine:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        app = Conveyor(self.url)
        try:
            while not self._stopped.wait(self.every):
                print(self.line(app), flush=True)
        finally:
            app.close()

    def line(self, app: Conveyor) -> str:
        try:
            by_state: Counter[JobState] = Counter()
            for (_queue, state), count in app.counts().items():
                by_state[state] += count
            jobs = ", ".join(f"{by_state[s]} {s.value}" for s in SHOWN if by_state[s])
            return " | ".join([f"jobs: {jobs or 'none'}", *(report() for report in
                                                            self.reporters)])
        except Exception as exc:  # a status line never stops the demo
            return f"(status line unavailable: {type(exc).__name__})"
