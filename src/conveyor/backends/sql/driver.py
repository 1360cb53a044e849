"""What an engine provides to the shared SQL layer: named statements inside its transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from conveyor import limits, metrics, model, outcome
from conveyor.backends import base

if TYPE_CHECKING:
    from conveyor.backends.sql.plans import AsyncCaller, Caller

T = TypeVar("T")
Fetched = tuple[Sequence[Sequence[Any]], Sequence[str]]
"""Whole job rows as fetched (tuples) and their column names: `Statements.job_rows`."""


class Statements(Protocol):
    """Named statements on one connection, inside the driver's transaction."""

    async def rows(self, name: str, params: Mapping[str, Any], *,
                   planned: bool = False) -> Sequence[Mapping[str, Any]]:
        """Run statement `name`; its rows (none for a statement that returns none). With
        `planned`, planned for these parameters (a filter's plan depends on them)."""
        ...

    async def job_rows(self, name: str, params: Mapping[str, Any]) -> Fetched:
        """Run statement `name`, which returns whole job rows; them fetched, not yet built
        into jobs (`Driver.jobs_of` does that once the transaction is over, so a claim does
        not hold SQLite's write lock while it builds its jobs)."""
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

    async def follow(self, plan: Generator[Any, Any, T]) -> T:
        """Run every step of a plan here (`sql.plans`: named statements, the engine's bulk
        row write, inserts); what the plan returns."""
        ...

    async def wake_all(self) -> None:
        """Workers of every queue look for jobs once this transaction commits."""
        ...


class Driver:
    """What the shared areas use of an engine's backend, its driver (declared once; each
    engine's backend defines it)."""

    if TYPE_CHECKING:
        async def transaction(self, work: Callable[[Statements], Awaitable[T]], *,
                              pipelined: bool = False, atomic: bool = True,
                              settling: bool = False) -> T:
            """Run `work` in one write transaction of the engine's kind (pipelined where the
            engine can); with `atomic=False`, statements that need no transaction, each
            committed on its own (PostgreSQL: one round trip instead of three). `settling`:
            it records attempts whose jobs already started, so no job waits on it; an engine
            does its housekeeping there (SQLite: WAL checkpoints)."""


        async def statement(self, name: str, params: Mapping[str, Any] | None = None, *,
                            planned: bool = False, fragments: Sequence[str] = (),
                            ) -> Sequence[Mapping[str, Any]]:
            """Run one statement on its own, atomic without an explicit transaction (one
            round trip on PostgreSQL); its rows. `planned` as in `Statements.rows`;
            `fragments` put where it says `/*drive*/` (`sqlfile.compose`)."""

        async def claim_alone(self, queue: str, limit: int, worker: str, now: datetime,
                              names: Sequence[str] | None) -> list[model.Job] | None:
            """Start up to `limit` of the best jobs of `queue` in one statement, without a
            transaction, when none of the candidates carries a limit (PostgreSQL: one round
            trip instead of four). None when one does, or when the engine has no such
            statement: admission decides (`Statements.candidates`, `limits.admit`)."""

        def filter_params(self, where: base.JobFilter) -> dict[str, Any]:
            """A job filter bound to the shared `filter` fragment the engine's way."""

        def job(self, row: Mapping[str, Any]) -> model.Job:
            """A job from its row (`SELECT *` of the jobs table)."""

        def jobs_of(self, fetched: Fetched) -> list[model.Job]:
            """The jobs of rows `Statements.job_rows` fetched."""

        def metric_params(self, rows: Sequence[metrics.MetricRow]) -> dict[str, Any]:
            """Workers' tallies as `record_metrics` binds them (in one lock order)."""

        def moment(self, value: Any) -> datetime:
            """A stored time as a `datetime` (SQLite stores integer microseconds)."""

        def document(self, value: Any) -> Any:
            """A stored JSON value, decoded (SQLite returns it as text)."""

        def settle_params(self, outcomes: Sequence[outcome.Outcome],
                          ) -> dict[str, dict[str, Any]]:
            """Outcomes grouped by settling statement, bound the engine's way."""

        async def settle_alone(self, by_statement: dict[str, dict[str, Any]], now: datetime,
                               max_errors: int) -> set[int]:
            """Settle outcomes of jobs nothing follows from outside a transaction where that
            saves round trips; the ids written (SQLite: none, everything settles together)."""

        def caller(self, connection: Any) -> Caller:
            """A caller's own blocking connection, checked for transactional enqueue."""

        def acaller(self, connection: Any) -> AsyncCaller:
            """The same for an async connection (or a blocking one, awaited)."""

        def _notify(self) -> None: ...
