"""What an engine provides to the shared SQL layer: named statements inside its transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from conveyor import metrics, model, orchestrate
from conveyor.backends import base

T = TypeVar("T")


class Statements(Protocol):
    """Named statements on one connection, inside the driver's transaction."""

    async def rows(self, name: str, params: Mapping[str, Any], *,
                   planned: bool = False) -> Sequence[Mapping[str, Any]]:
        """Run statement `name`; its rows (none for a statement that returns none). With
        `planned`, planned for these parameters (a filter's plan depends on them)."""
        ...

    async def follow(self, plan: orchestrate.Plan) -> None:
        """Run every step of an `orchestrate` plan here."""
        ...

    async def wake_all(self) -> None:
        """Workers of every queue look for jobs once this transaction commits."""
        ...


class Driver:
    """What the shared areas use of an engine's backend, its driver (declared once; each
    engine's backend defines it)."""

    if TYPE_CHECKING:
        async def transaction(self, work: Callable[[Statements], Awaitable[T]], *,
                              pipelined: bool = False) -> T: ...

        async def statement(self, name: str, params: Mapping[str, Any] | None = None, *,
                            planned: bool = False, fragments: Sequence[str] = (),
                            ) -> Sequence[Mapping[str, Any]]:
            """Run one statement on its own, atomic without an explicit transaction (one
            round trip on PostgreSQL); its rows. `planned` as in `Statements.rows`;
            `fragments` put where it says `/*drive*/` (`sqlfile.compose`)."""

        def filter_params(self, where: base.JobFilter) -> dict[str, Any]:
            """A job filter bound to the shared `filter` fragment the engine's way."""

        def job(self, row: Mapping[str, Any]) -> model.Job:
            """A job from its row (`SELECT *` of the jobs table)."""

        def metric_params(self, rows: Sequence[metrics.MetricRow]) -> dict[str, Any]:
            """Workers' tallies as `record_metrics` binds them (in one lock order)."""

        def moment(self, value: Any) -> datetime:
            """A stored time as a `datetime` (SQLite stores integer microseconds)."""

        def document(self, value: Any) -> Any:
            """A stored JSON value, decoded (SQLite returns it as text)."""

        def _notify(self) -> None: ...
