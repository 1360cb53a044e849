"""When the leader may rescue, and when it prunes: rules that keep a stall of the database or
of this process from making healthy jobs look orphaned. They read seconds from the app's
injected clock (`clock.monotonic`), so unit tests step them without sleeping.

- Seniority: a worker younger than half a lease timeout is "young"; it takes a dead leader's
  place only with patience (see `Leader`), so an older worker that can witness rescues leads.
- Stalls: a gap between rounds, or a round, longer than `stall_limit` means nobody could
  heartbeat meanwhile; staleness is counted again from its end, so rescue waits one lease
  timeout after it ("steady").
- Cadence: rescue every `rescue_interval` once steady, prune every `prune_interval`.
(The witness rule - the rescuer itself heartbeat within half a lease timeout - is checked by
the database in the rescue statement.)
"""

from __future__ import annotations

import dataclasses
import math

from conveyor.settings import Settings


@dataclasses.dataclass
class RescueRules:
    settings: Settings
    born: float | None = None
    last_round: float | None = None
    steady_since: float = -math.inf
    last_rescue: float = -math.inf
    last_prune: float = -math.inf

    @property
    def stall_limit(self) -> float:
        """A stall shorter than half a lease timeout cannot make a live worker look silent
        (its heartbeat is at most one interval older than the stall), so a slow round under
        load does not hold rescue back."""
        s = self.settings
        return max(s.stage_interval * 3, s.heartbeat_interval, s.lease_timeout / 2)

    def young(self, started: float) -> bool:
        """Whether this worker, at the start of a round, is too young to witness a rescue."""
        if self.born is None:
            self.born = started
        return started - self.born < self.settings.lease_timeout / 2

    def leased(self, started: float, now: float) -> None:
        """The lease was asked for (`now`) in a round begun at `started`: note a stall since
        the last round, or within this one so far."""
        gap = now - (self.last_round if self.last_round is not None else started)
        if gap > self.stall_limit + self.settings.stage_interval \
                or now - started > self.stall_limit:
            self.steady_since = now
        self.last_round = now

    def may_rescue(self, started: float, now: float, *, force: bool = False) -> bool:
        """After staging and cron (`now`): rescue now? A round that stalled counts too."""
        if now - started > self.stall_limit:
            self.steady_since = now
        steady = now - self.steady_since >= self.settings.lease_timeout
        if force or (steady and now - self.last_rescue >= self.settings.rescue_interval):
            self.last_rescue = now
            return True
        return False

    def may_prune(self, now: float) -> bool:
        if now - self.last_prune >= self.settings.prune_interval:
            self.last_prune = now
            return True
        return False
