"""What an engine provides to the shared SQL layer: named statements inside its transaction."""

from __future__ import annotations

from collections.abc import Generator, Mapping, Sequence
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class Statements(Protocol):
    """Named statements on one connection, inside the driver's transaction."""

    async def rows(self, name: str, params: Mapping[str, Any], *,
                   planned: bool = False) -> Sequence[Mapping[str, Any]]:
        """Run statement `name`; its rows (none for a statement that returns none). With
        `planned`, planned for these parameters (a filter's plan depends on them)."""
        ...

    async def follow(self, plan: Generator[Any, Any, T]) -> T:
        """Run every step of a plan here (`sql.plans`: named statements, the engine's bulk
        row write, inserts); what the plan returns."""
        ...

    async def wake_all(self) -> None:
        """Workers of every queue look for jobs once this transaction commits."""
        ...
