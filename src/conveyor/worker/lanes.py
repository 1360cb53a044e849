"""Run claimed `async def` jobs without a task each while they end without suspending.

A task per job costs more than a job that only returns (a no-op, a cache hit, a guard
that finds nothing to do). A lane is one task that runs its jobs one after another: each job
whose first step ends the job costs no task of its own. When a job suspends (awaits I/O, a
sleep, a lock), the jobs after it move to a new lane before control goes back to the loop,
so the lane it suspended in stays that job's alone until it ends: its timeout scope, an
operator's cancel, a shutdown's cancel and `asyncio.current_task()` reach that job only,
as they would with a task of its own. Each job runs in its own copy of the context, as a task
of its own would, so context variables it sets never reach the next job.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections import deque
from collections.abc import Callable, Coroutine, Generator
from typing import Any, Generic, TypeVar

T = TypeVar("T")
Turn = Callable[[T, "asyncio.Task[None]"], Coroutine[Any, Any, None] | None]
"""Called when a lane reaches an item, with the lane's task: the coroutine to run for it,
or None to skip it."""


class Lanes(Generic[T]):
    """The lanes of one worker, each working through a queue of items."""

    def __init__(self, turn: Turn[T], name: str = "conveyor-lane") -> None:
        self.turn = turn
        self.name = name
        self.tasks: set[asyncio.Task[None]] = set()
        """Lanes not ended yet."""

    def open(self, items: deque[T]) -> None:
        """A new lane for `items` (it starts on the loop's next round)."""
        task = asyncio.create_task(self._work(items), name=self.name)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _work(self, items: deque[T]) -> None:
        task = asyncio.current_task()
        assert task is not None

        def hand_off() -> None:  # this lane's job suspended: the rest go on elsewhere
            if items:
                self.open(deque(items))
                items.clear()

        while items:
            coro = self.turn(items.popleft(), task)
            if coro is None:
                continue
            run = contextvars.copy_context().run
            try:
                try:  # the first step on the spot: most jobs end in it, with no await
                    pending = run(coro.send, None)
                except StopIteration:
                    pass
                else:
                    hand_off()
                    await _Resumed(coro, run, pending)
            except GeneratorExit:
                # A future's GeneratorExit (a job's thread raised it), thrown in by the task,
                # closes the coroutines the await delegates to - the turn's coroutine settles
                # its job as it closes - and surfaces here; so does this lane being closed.
                hand_off()
                return
            except BaseException:  # a bug of the turn's coroutine: the rest still run
                hand_off()
                raise
            if task.cancelling():  # the job cancelled its lane itself: not the next job's
                hand_off()


class _Resumed:
    """Awaits the rest of a coroutine that suspended on its first step (on `pending`), each
    step run in the job's context, as a task does for its coroutine, minus the task."""

    __slots__ = ("coro", "pending", "run")

    def __init__(self, coro: Coroutine[Any, Any, None], run: Callable[..., Any],
                 pending: Any) -> None:
        self.coro, self.run, self.pending = coro, run, pending

    def __await__(self) -> Generator[Any, Any, None]:
        coro, run, pending = self.coro, self.run, self.pending
        while True:
            try:
                sent = yield pending
            except GeneratorExit:
                run(coro.close)
                raise
            except BaseException as exc:  # thrown in by the task (a cancel): the job's
                try:
                    pending = run(coro.throw, exc)
                except StopIteration:
                    return
            else:
                try:
                    pending = run(coro.send, sent)
                except StopIteration:
                    return
