"""The leader's rescue rules on the app's injected clock, stepped round by round against a
real database: orphans are rescued at the first rescue round after their lease ran out; a
stall (time jumping between rounds) holds rescue back for a lease timeout; a leader that just
started witnesses nothing; a young worker takes a dead leader's place only with patience."""

from __future__ import annotations

from conveyor import Conveyor, FrozenClock, JobState
from conveyor.worker.leader import Leader

LEASE = 60  # default Settings: lease 60 s, rescue every 15 s, stall limit 30 s
STEP = 5


async def _orphan(app: Conveyor) -> int:
    """A job claimed by worker "dead", which heartbeats now and never again."""
    @app.job(name="work")
    def work() -> None: ...

    backend = await app.storage()
    job = await work.aenqueue()
    await backend.heartbeat("dead", ["default"], app.clock.now())
    (claimed,) = await backend.claim(["default"], 1, "dead", app.clock.now())
    assert claimed.id == job.id
    return job.id


async def _rounds(app: Conveyor, clock: FrozenClock, leader: Leader, job_id: int,
                  seconds: int) -> int | None:
    """A round every STEP seconds (rounds are quick: the rules see no stall), the leader
    heartbeating as its worker does; the second (from now) at which the job was rescued,
    or None."""
    backend = await app.storage()
    for second in range(0, seconds + 1, STEP):
        if second:
            clock.advance(STEP)
        await backend.heartbeat(leader.holder, ["default"], clock.now())
        await leader.run_once()
        job = await app.aget(job_id)
        if job.state != JobState.RUNNING:
            assert job.errors[-1].type == "WorkerLost"
            return second
    return None


async def test_rescued_at_the_first_rescue_round_after_the_lease(app: Conveyor,
                                                                 clock: FrozenClock) -> None:
    job_id = await _orphan(app)
    leader = Leader(app, await app.storage(), "boss")
    # Rescue rounds at 0, 15, ... 60 (the heartbeat of second 0 is not yet stale), 75.
    assert await _rounds(app, clock, leader, job_id, 100) == 75


async def test_a_stall_holds_rescue_back_for_a_lease_timeout(app: Conveyor,
                                                             clock: FrozenClock) -> None:
    job_id = await _orphan(app)
    leader = Leader(app, await app.storage(), "boss")
    assert await _rounds(app, clock, leader, job_id, 10) is None
    clock.advance(100.0)  # nothing ran meanwhile: not even "dead" could have heartbeat
    # Stale by now, but rescued only a lease timeout after the stall ended (second 0).
    assert await _rounds(app, clock, leader, job_id, 100) == LEASE


async def test_a_leader_that_just_started_witnesses_nothing(app: Conveyor,
                                                            clock: FrozenClock) -> None:
    job_id = await _orphan(app)
    clock.advance(200.0)  # long dead; a new worker starts and leads at once
    leader = Leader(app, await app.storage(), "newcomer")
    # Its own heartbeat must go back half a lease timeout (30 s): the first rescue round
    # from then on is at 30 (rounds at 0, 15, 30).
    assert await _rounds(app, clock, leader, job_id, 60) == 30


async def _dead_leader(app: Conveyor) -> None:
    old = Leader(app, await app.storage(), "old")
    await old.run_once()
    assert old.is_leader  # then it dies: its lease (5 s) runs out


async def test_a_young_worker_waits_two_lease_terms_for_a_dead_leaders_place(
        app: Conveyor, clock: FrozenClock) -> None:
    await _dead_leader(app)
    junior = Leader(app, await app.storage(), "junior")
    clock.advance(6.0)
    led = []
    for _ in range(6, 20):
        await junior.run_once()
        led.append(junior.is_leader)
        clock.advance(1.0)
    # Lease expired at 5; a young worker waits two more terms (10 s): from 15 on.
    assert led.index(True) + 6 == 15 and all(led[led.index(True):])


async def test_a_senior_worker_takes_a_dead_leaders_place_at_once(
        app: Conveyor, clock: FrozenClock) -> None:
    await _dead_leader(app)
    senior = Leader(app, await app.storage(), "senior")
    senior.rules.born = clock.monotonic() - LEASE  # up long before
    clock.advance(6.0)
    await senior.run_once()
    assert senior.is_leader
