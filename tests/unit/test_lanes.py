"""Lanes run jobs that end without suspending in one task, and give a job that suspends its
task alone: cancels, timeouts, `current_task()` and context variables stay the job's."""

from __future__ import annotations

import asyncio
import contextvars
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

from conveyor.worker import lanes

Step = Callable[[], Coroutine[Any, Any, None]]
_seen: contextvars.ContextVar[str] = contextvars.ContextVar("seen", default="")


def _lanes_of(steps: dict[str, Step], tasks: dict[str, asyncio.Task[None]]
              ) -> lanes.Lanes[str]:
    def turn(name: str, task: asyncio.Task[None]) -> Coroutine[Any, Any, None]:
        tasks[name] = task
        return steps[name]()

    return lanes.Lanes(turn)


async def _until_ended(group: lanes.Lanes[str]) -> None:
    while group.tasks:
        await asyncio.gather(*group.tasks, return_exceptions=True)


async def test_jobs_that_do_not_suspend_share_one_task_and_one_that_does_keeps_its_own(
) -> None:
    order: list[str] = []

    async def quick(name: str) -> None:
        order.append(name)

    async def slow() -> None:
        order.append("slow started")
        await asyncio.sleep(0.01)
        order.append("slow ended")

    steps: dict[str, Step] = {"a": lambda: quick("a"), "b": lambda: quick("b"), "slow": slow,
                              "c": lambda: quick("c"), "d": lambda: quick("d")}
    tasks: dict[str, asyncio.Task[None]] = {}
    group = _lanes_of(steps, tasks)
    group.open(deque(["a", "b", "slow", "c", "d"]))
    await _until_ended(group)
    assert order == ["a", "b", "slow started", "c", "d", "slow ended"]
    assert tasks["a"] is tasks["b"] is tasks["slow"]
    assert tasks["c"] is tasks["d"] and tasks["c"] is not tasks["slow"]


async def test_a_cancel_and_a_timeout_reach_only_the_job_whose_lane_it_is() -> None:
    ended: dict[str, str] = {}
    current: dict[str, asyncio.Task[Any] | None] = {}

    async def cancelled() -> None:
        current["cancelled"] = asyncio.current_task()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            ended["cancelled"] = "cancelled"

    async def timed_out() -> None:
        current["timed_out"] = asyncio.current_task()
        try:
            async with asyncio.timeout(0.01):
                await asyncio.sleep(10)
        except TimeoutError:
            ended["timed_out"] = "timed out"

    async def sleeper() -> None:
        await asyncio.sleep(0.05)
        ended["sleeper"] = "slept"

    steps: dict[str, Step] = {"cancelled": cancelled, "timed_out": timed_out,
                              "sleeper": sleeper}
    tasks: dict[str, asyncio.Task[None]] = {}
    group = _lanes_of(steps, tasks)
    group.open(deque(["cancelled", "timed_out", "sleeper"]))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    tasks["cancelled"].cancel()
    await _until_ended(group)
    assert ended == {"cancelled": "cancelled", "timed_out": "timed out", "sleeper": "slept"}
    assert current["cancelled"] is tasks["cancelled"]
    assert current["timed_out"] is tasks["timed_out"]
    assert len({id(task) for task in tasks.values()}) == 3


async def test_context_variables_a_job_sets_never_reach_the_next_job() -> None:
    seen: list[str] = []

    async def sets() -> None:
        _seen.set("set by the first job")

    async def reads() -> None:
        seen.append(_seen.get())

    tasks: dict[str, asyncio.Task[None]] = {}
    group = _lanes_of({"sets": sets, "reads": reads}, tasks)
    group.open(deque(["sets", "reads"]))
    await _until_ended(group)
    assert seen == [""] and tasks["sets"] is tasks["reads"]


async def test_a_job_that_cancels_its_own_task_leaves_the_next_jobs_to_another_lane(
) -> None:
    ran: list[str] = []

    async def cancels_itself() -> None:
        task = asyncio.current_task()
        assert task is not None
        task.cancel()

    async def next_job() -> None:
        await asyncio.sleep(0)
        ran.append("next")

    tasks: dict[str, asyncio.Task[None]] = {}
    group = _lanes_of({"cancels": cancels_itself, "next": next_job}, tasks)
    group.open(deque(["cancels", "next"]))
    await _until_ended(group)
    assert ran == ["next"] and tasks["cancels"] is not tasks["next"]


async def test_an_item_skipped_by_its_turn_runs_nothing() -> None:
    ran: list[str] = []

    def turn(name: str, task: asyncio.Task[None]) -> Coroutine[Any, Any, None] | None:
        async def run() -> None:
            ran.append(name)

        return None if name == "skipped" else run()

    group: lanes.Lanes[str] = lanes.Lanes(turn)
    group.open(deque(["a", "skipped", "b"]))
    await _until_ended(group)
    assert ran == ["a", "b"]


async def test_a_generator_exit_from_a_thread_ends_only_the_lane_it_reached() -> None:
    """Thrown in by the task, it closes the job's coroutine (whose own guard still runs)."""
    guarded: list[str] = []

    def raises() -> None:
        raise GeneratorExit

    async def in_thread() -> None:
        try:
            await asyncio.get_running_loop().run_in_executor(None, raises)
        except BaseException as exc:
            guarded.append(type(exc).__name__)

    async def after() -> None:
        guarded.append("after")

    tasks: dict[str, asyncio.Task[None]] = {}
    group = _lanes_of({"thread": in_thread, "after": after}, tasks)
    group.open(deque(["thread", "after"]))
    lanes_seen: set[asyncio.Task[None]] = set()
    while group.tasks:
        lanes_seen |= group.tasks
        await asyncio.gather(*group.tasks)  # no lane ends with an exception
    assert sorted(guarded) == ["GeneratorExit", "after"]
    assert all(task.exception() is None for task in lanes_seen)
