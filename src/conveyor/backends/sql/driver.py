"""What an engine provides to the shared SQL layer: named statements inside its transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from conveyor import limits, model, orchestrate


class Statements(Protocol):
    """Named statements on one connection, inside the driver's transaction."""

    async def rows(self, name: str, params: Mapping[str, Any], *,
                   planned: bool = False) -> Sequence[Mapping[str, Any]]:
        """Run statement `name`; its rows (none for a statement that returns none). With
        `planned`, planned for these parameters (a filter's plan depends on them)."""
        ...

    async def jobs(self, name: str, params: Mapping[str, Any]) -> list[model.Job]:
        """Run statement `name`, which returns whole job rows; them as jobs."""
        ...

    async def candidates(self, queue: str, limit: int, now: datetime,
                         names: Sequence[str] | None) -> Sequence[Mapping[str, Any]]:
        """What one claim may start in `queue` (of `names` only, if given; nothing while the
        queue is paused): its best `limit` unkeyed jobs, best first, passing over full
        concurrency keys, then the head job of each rate key free now, least recently served
        key first (at most `limit` keys). Locked for this transaction where the engine locks
        rows, skipping those other claims hold. Rows of `id`, `rate_keys`,
        `concurrency_key` (read as they are: None or empty when a job has none) and what
        `candidate` decodes. The engine's own statement sequence (PostgreSQL: one statement;
        SQLite: candidates, then each ready key's head)."""
        ...

    def candidate(self, row: Mapping[str, Any]) -> limits.Candidate:
        """A `candidates` row as admission reads it, decoded the engine's way."""
        ...

    async def follow(self, plan: orchestrate.Plan) -> None:
        """Run every step of an `orchestrate` plan here."""
        ...

    async def wake_all(self) -> None:
        """Workers of every queue look for jobs once this transaction commits."""
        ...
