"""Driving plans - generators of named statements - on a connection, blocking or async.

A plan (`orchestrate.after_final`, `inserts.plan`) decides, the driver only runs: each
`orchestrate.Query` is run by the engine and its rows sent back, each `inserts.Write` is the
engine's bulk row write (its result sent back), and each `orchestrate.Insert` runs the
shared insert plan in place. The two runners below are the only difference between
transactional enqueue from sync code and everything else, so the logic exists once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator, Sequence
from typing import Any, Protocol, TypeVar

from conveyor import orchestrate
from conveyor.backends.sql import inserts

T = TypeVar("T")
Step = orchestrate.Query | orchestrate.Insert | inserts.Write
Steps = Generator[Any, Any, T]
"""A plan: yields `Step`s, is sent what each produced, returns its result."""
Execute = Callable[[orchestrate.Query], Sequence[Any]]
WriteRows = Callable[[inserts.Write], inserts.Written]


def drive(plan: Steps[T], execute: Execute, write: WriteRows) -> T:
    """Run `plan` on a blocking connection (`execute` and `write` are the engine's)."""
    try:
        step = next(plan)
        while True:
            if isinstance(step, orchestrate.Query):
                step = plan.send(execute(step))
            elif isinstance(step, inserts.Write):
                step = plan.send(write(step))
            else:
                step = plan.send(drive(inserts.plan(step.jobs, step.now), execute, write))
    except StopIteration as done:
        result: T = done.value
        return result


async def adrive(plan: Steps[T], execute: Callable[[orchestrate.Query], Awaitable[Sequence[Any]]],
                 write: Callable[[inserts.Write], Awaitable[inserts.Written]]) -> T:
    """The same on an async connection."""
    try:
        step = next(plan)
        while True:
            if isinstance(step, orchestrate.Query):
                step = plan.send(await execute(step))
            elif isinstance(step, inserts.Write):
                step = plan.send(await write(step))
            else:
                step = plan.send(await adrive(inserts.plan(step.jobs, step.now), execute, write))
    except StopIteration as done:
        result: T = done.value
        return result


class Caller(Protocol):
    """A caller's own blocking connection (transactional enqueue), checked by the engine."""

    where: str
    """The database, as messages name it."""

    def run(self, plan: Steps[T]) -> T: ...


class AsyncCaller(Protocol):
    """A caller's own connection driven from async code."""

    where: str

    async def run(self, plan: Steps[T]) -> T: ...


class Awaiting:
    """An `AsyncCaller` over a blocking connection (sqlite3, a sync psycopg connection): the
    statements block, as they would in the caller's own code."""

    def __init__(self, caller: Caller) -> None:
        self.caller = caller
        self.where = caller.where

    async def run(self, plan: Steps[T]) -> T:
        return self.caller.run(plan)
