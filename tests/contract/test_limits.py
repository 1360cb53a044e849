"""Rate and concurrency limits, throttling and pauses, on every backend (frozen clock)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from conveyor import Conveyor, FrozenClock, JobFilter, JobState, Rate, RateLimited, outcome
from conveyor.registry import JobType

S = JobState


def _ran(app: Conveyor) -> set[int]:
    return {j.id for j in app.jobs(JobFilter(states=[S.COMPLETED], limit=1000))}


def _send(app: Conveyor) -> JobType[..., None]:
    @app.job(name="send", rate_limit="1/s", rate_key=lambda account, n: f"wa:{account}")
    def send(account: int, n: int) -> None: ...

    return send


def test_rate_limit_admits_one_per_slot_per_key(app: Conveyor, clock: FrozenClock) -> None:
    send = _send(app)

    @app.job(name="plain")
    def plain() -> None: ...

    a1, a2, a3 = (send.enqueue(1, n) for n in range(3))
    b1, free = send.enqueue(2, 0), plain.enqueue()
    app.drain()
    assert _ran(app) == {a1.id, b1.id, free.id}
    waiting = app.get(a2.id)
    assert (waiting.state, waiting.attempt) == (S.AVAILABLE, 0)  # held back, no attempt used
    clock.advance(0.5)
    app.drain()
    assert _ran(app) == {a1.id, b1.id, free.id}
    clock.advance(0.6)  # one slot is 1 s plus the 50 ms margin
    app.drain()
    assert _ran(app) == {a1.id, a2.id, b1.id, free.id}
    clock.advance(1.05)
    app.drain()
    assert a3.id in _ran(app)


def test_cost_takes_that_many_slots(app: Conveyor, clock: FrozenClock) -> None:
    @app.job(name="broadcast", rate_limit="10/s", rate_key="wa:9",
             cost=lambda recipients: len(recipients))
    def broadcast(recipients: list[str]) -> None: ...

    big, small = broadcast.enqueue(["a"] * 5), broadcast.enqueue(["b"])
    app.drain()
    assert _ran(app) == {big.id}
    clock.advance(0.4)
    app.drain()
    assert _ran(app) == {big.id}
    clock.advance(0.15)  # 5 slots of 0.105 s
    app.drain()
    assert _ran(app) == {big.id, small.id}


async def test_concurrency_limit_counts_running_jobs(app: Conveyor) -> None:
    @app.job(name="sync", concurrency=2, concurrency_key=lambda product, shop: f"{product}")
    def sync(product: int, shop: int) -> None: ...

    jobs = [await sync.aenqueue(7, shop) for shop in range(4)]
    other = await sync.aenqueue(8, 0)
    backend = await app.storage()
    first = await backend.claim(["default"], 10, "w1", app.clock.now())
    assert sorted(j.id for j in first) == [jobs[0].id, jobs[1].id, other.id]
    assert await backend.claim(["default"], 10, "w2", app.clock.now()) == []
    await backend.finish([outcome.Completed(first[0].id, 1)], app.clock.now(), 20)
    again = await backend.claim(["default"], 10, "w2", app.clock.now())
    assert [j.id for j in again] == [jobs[2].id]
    await app.aclose()


async def test_a_busy_key_does_not_starve_the_others(app: Conveyor) -> None:
    send = _send(app)

    @app.job(name="plain")
    def plain() -> None: ...

    backlog = await send.aenqueue_many([((1, n), {}) for n in range(300)])
    lone, free = await send.aenqueue(2, 0), await plain.aenqueue()
    backend = await app.storage()
    claimed = await backend.claim(["default"], 5, "w1", app.clock.now())
    assert sorted(j.id for j in claimed) == [backlog[0].id, lone.id, free.id]
    assert await backend.claim(["default"], 5, "w1", app.clock.now()) == []
    await app.aclose()


def test_rate_limited_pauses_the_key_for_everyone(app: Conveyor, clock: FrozenClock) -> None:
    calls: list[int] = []

    @app.job(name="throttled", rate_limit="100/s", rate_key=lambda n: "api")
    def throttled(n: int) -> None:
        calls.append(n)
        if n == 0 and len(calls) == 1:
            raise RateLimited(retry_after=2, key="api")

    first, second = throttled.enqueue(0), throttled.enqueue(1)
    app.drain()
    held = app.get(first.id)
    assert (held.state, held.attempt) == (S.SCHEDULED, 0)
    assert held.run_at == clock.now() + timedelta(seconds=2)
    assert app.get(second.id).state == S.AVAILABLE  # its key is blocked for every worker
    flow = app.admin.limits()
    assert [(k.key, k.blocked_until) for k in flow.keys] == \
        [("api@100/s", clock.now() + timedelta(seconds=2))]
    clock.advance(1.9)
    app.drain()
    assert calls == [0]
    clock.advance(0.2)
    app.drain()
    clock.advance(0.1)
    app.drain()
    assert sorted(calls) == [0, 0, 1]
    assert app.get(first.id).state == S.COMPLETED and app.get(first.id).attempt == 1


def test_pause_and_resume_a_queue_and_a_key(app: Conveyor, clock: FrozenClock) -> None:
    send = _send(app)

    @app.job(name="plain", queue="q")
    def plain() -> None: ...

    job = plain.enqueue()
    assert app.admin.pause(queue="q") == ["q"]
    app.drain()
    assert app.get(job.id).state == S.AVAILABLE
    assert app.admin.limits().paused_queues == ["q"]
    app.admin.pause(queue="q", paused=False)
    app.drain()
    assert app.get(job.id).state == S.COMPLETED
    held = send.enqueue(5, 0)
    assert app.admin.pause(key="wa:5") == ["wa:5@1/s"]
    app.drain()
    assert app.get(held.id).state == S.AVAILABLE
    assert [(k.key, k.paused, k.waiting) for k in app.admin.limits().keys] == \
        [("wa:5@1/s", True, 1)]
    app.admin.pause(key="wa:5", paused=False)
    app.drain()
    assert app.get(held.id).state == S.COMPLETED


async def test_a_key_that_freed_during_an_empty_claim_wakes_the_worker_at_once(
        app: Conveyor, clock: FrozenClock) -> None:
    """`next_unblock` reports a key's slot also once it has passed, so a worker whose claim
    came back empty just before the slot claims again at once instead of idling (PostgreSQL
    workers used to admit ~5 jobs/s on a 50/s key: each empty claim slept a whole second)."""
    from conveyor.worker import runner

    send = _send(app)
    send.enqueue(1, 0)
    send.enqueue(1, 1)
    await app.adrain()  # the first runs, the second waits for the key's next slot
    backend = await app.storage()
    slot = await backend.next_unblock(clock.now())
    assert slot is not None and slot > clock.now()
    worker = runner.Worker(app, runner.WorkerConfig(install_signals=False, idle_wait=5.0))
    # Before the slot: sleep until it (no notification comes for a key freeing up).
    assert abs(await worker._idle.seconds(backend) - (slot - clock.now()).total_seconds()) < 1e-6
    clock.advance(1.1)  # the slot has passed; no claim has run since
    assert await backend.next_unblock(clock.now()) == slot
    waits = [await worker._idle.seconds(backend) for _ in range(3)]
    assert waits == sorted(waits) and waits[-1] < 0.01  # claim again soon, backing off


async def test_a_worker_without_rate_limited_job_types_idles_without_asking_for_keys(
        app: Conveyor, url: str, clock: FrozenClock) -> None:
    """None of a worker's job types declares a rate limit: no job it runs waits on a key,
    so it idles its whole `idle_wait` (a notification still ends that early) without
    asking when one frees up, even while another application's key is blocked."""
    from conveyor.worker import runner

    send = _send(app)
    send.enqueue(1, 0)
    send.enqueue(1, 1)
    await app.adrain()  # the second waits for the key's next slot
    assert await (await app.storage()).next_unblock(clock.now()) is not None
    other = Conveyor(url, clock=clock)

    @other.job(name="plain")
    def plain() -> None: ...

    try:
        worker = runner.Worker(other, runner.WorkerConfig(install_signals=False, idle_wait=5.0))
        assert await worker._idle.seconds(await other.storage()) == 5.0
    finally:
        await other.aclose()


def test_each_key_can_have_its_own_rate_given_per_call(app: Conveyor,
                                                       clock: FrozenClock) -> None:
    throughput = {1: "1/s", 2: "2/s"}  # as an accounts table would hold them

    @app.job(name="send_per_account", limits=[Rate(lambda account, n: throughput[account],
                                                   key=lambda account, n: f"wa:{account}")])
    def send(account: int, n: int) -> None: ...

    jobs = {(a, n): send.enqueue(a, n) for a in (1, 2) for n in range(3)}
    started: dict[tuple[int, int], int] = {}
    for step in range(4):  # a quarter second apart, past the margin of the first slot
        app.drain()
        for call, job in jobs.items():
            if call not in started and app.get(job.id).state == S.COMPLETED:
                started[call] = step
        clock.advance(0.53)
    assert started == {(1, 0): 0, (2, 0): 0, (2, 1): 1, (1, 1): 2, (2, 2): 2}


def test_the_former_name_of_limits_still_answers_with_a_warning(app: Conveyor) -> None:
    app.admin.pause(queue="mail")
    with pytest.warns(DeprecationWarning, match="admin.limits"):
        former = app.admin.flow()
    assert former == app.admin.limits()
    assert former.paused_queues == ["mail"]
