"""What an engine provides to the shared SQL layer: named statements inside its transaction."""

from __future__ import annotations

from collections.abc import Generator, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar

from conveyor import limits, model

T = TypeVar("T")


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
                         names: Sequence[str] | None) -> list[limits.Candidate]:
        """What one claim may start in `queue` (of `names` only, if given; nothing while the
        queue is paused): its best `limit` unkeyed jobs, passing over full concurrency keys,
        and the head job of each rate key free now, least recently served key first (at most
        `limit` keys). Locked for this transaction where the engine locks rows, skipping
        those other claims hold. The engine's own statement sequence (PostgreSQL: one
        statement; SQLite: candidates, then each ready key's head)."""
        ...

    async def follow(self, plan: Generator[Any, Any, T]) -> T:
        """Run every step of a plan here (`sql.plans`: named statements, the engine's bulk
        row write, inserts); what the plan returns."""
        ...

    async def wake_all(self) -> None:
        """Workers of every queue look for jobs once this transaction commits."""
        ...
