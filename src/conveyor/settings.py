"""`Settings`: an application's tunables, with production defaults."""

from __future__ import annotations

import dataclasses

from conveyor import model


@dataclasses.dataclass(frozen=True, slots=True)
class Settings:
    """Tunables with production defaults (see DESIGN.md section 6)."""

    payload_limit: int = 1024 * 1024
    result_limit: int = 64 * 1024
    max_errors: int = 20
    error_limit: int = 16 * 1024
    crash_limit: int = 3
    """Process crashes (segfault, os._exit, OOM kill) after which a job is discarded at once."""
    heartbeat_interval: float = 5.0
    lease_timeout: float = 60.0
    rescue_interval: float = 15.0
    stage_interval: float = 1.0
    prune_interval: float = 60.0
    retention: tuple[tuple[model.JobState, float], ...] = (
        (model.JobState.COMPLETED, 86_400.0),
        (model.JobState.CANCELLED, 7 * 86_400.0),
        (model.JobState.DISCARDED, 7 * 86_400.0),
    )
    """Seconds a final job is kept after it was finalized, per state."""
    metrics_interval: float = 5.0
    """Seconds between a worker's metrics writes (its per-minute tallies)."""
    metrics_retention: float = 7 * 86_400.0
    """Seconds per-minute metrics are kept (hourly views add minutes up)."""
    dead_worker_retention: float = 86_400.0
    """Seconds a worker that stopped heartbeating without retiring (it crashed) stays listed."""
    auto_migrate: bool = True
    """Create or upgrade the tables on first use. Off: nothing is created (not even a SQLite
    file), and a database without up-to-date tables raises `NotMigrated` on first use."""
