"""How many jobs a worker claims ahead of its free slots.

A claim takes at least one round trip to the database; while it is in flight, a worker that
claims only for its free slots runs nothing once its jobs have ended. So a worker also claims a
few jobs ahead into a small local buffer (leased to it: `running` for this worker in storage)
and starts them as slots free up, while the next claim travels. Just enough to cover one claim:
about as many jobs as end during a claim's round trip, measured, never more than `concurrency`
- so a worker whose jobs are long (which end rarely) buffers none, and never sits on jobs that
another worker's free slots could start now.
"""

from __future__ import annotations

import dataclasses

SMOOTHING = 0.5
"""Weight of the newest sample in the running averages."""
MARGIN = 2.0
"""Buffer jobs for this many claims' durations of job ends (jitter, the loop's own turns)."""


@dataclasses.dataclass(slots=True)
class Pacing:
    """Job ends per second and claim duration, averaged; `ahead` derives from them."""

    concurrency: int
    ends_per_second: float = 0.0
    claim_seconds: float = 0.0
    _ended: int = 0
    _counted: int = 0
    _counted_at: float | None = None

    def ended(self) -> None:
        """A job ended (its slot freed)."""
        self._ended += 1

    def claimed(self, began: float, returned: float) -> None:
        """A claim that began and returned at these loop times; samples both averages."""
        self.claim_seconds = _mix(self.claim_seconds, returned - began)
        if self._counted_at is not None and began > self._counted_at:
            rate = (self._ended - self._counted) / (began - self._counted_at)
            self.ends_per_second = _mix(self.ends_per_second, rate)
        self._counted, self._counted_at = self._ended, began

    @property
    def ahead(self) -> int:
        """Jobs to hold beyond the free slots."""
        wanted = int(MARGIN * self.ends_per_second * self.claim_seconds)
        return max(0, min(self.concurrency, wanted))


def _mix(average: float, sample: float) -> float:
    return sample if average == 0.0 else average + SMOOTHING * (sample - average)
