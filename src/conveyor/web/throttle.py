"""Throttled logins: after a few failures for one user name or one client address, further
attempts are refused for a while (HTTP 429), whether or not the password is right.

Kept in memory per dashboard process; a restart forgets it, which is acceptable for a brute
force that needs millions of tries. The number of tracked keys is bounded.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable, Iterable

_MAX_KEYS = 10_000


class LoginThrottle:
    """`limit` failures per key within `window` seconds, then refuse until the oldest one ages
    out of the window."""

    def __init__(self, limit: int, window: float,
                 now: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window, self._now = limit, window, now
        self._failures: dict[str, collections.deque[float]] = {}

    def retry_after(self, keys: Iterable[str]) -> float:
        """Seconds until any attempt for these keys is accepted again (0: now)."""
        now, wait = self._now(), 0.0
        for key in keys:
            failures = self._recent(key, now)
            if len(failures) >= self.limit:
                wait = max(wait, failures[0] + self.window - now)
        return wait

    def failed(self, keys: Iterable[str]) -> None:
        now = self._now()
        for key in keys:
            if key not in self._failures and len(self._failures) >= _MAX_KEYS:
                self._forget_oldest(now)
            self._recent(key, now).append(now)

    def succeeded(self, key: str) -> None:
        self._failures.pop(key, None)

    def _recent(self, key: str, now: float) -> collections.deque[float]:
        failures = self._failures.setdefault(key, collections.deque(maxlen=self.limit))
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return failures

    def _forget_oldest(self, now: float) -> None:
        stale = [k for k, f in self._failures.items() if not f or f[-1] <= now - self.window]
        for key in stale or [next(iter(self._failures))]:
            del self._failures[key]
