"""The operators' overview: queues, jobs waiting per job name, workers - on every backend."""

from __future__ import annotations

import os
import socket

from conveyor import Conveyor, FrozenClock, JobFilter, changes
from conveyor.backends import base
from conveyor.model import JobState as S
from conveyor.worker import leader


def test_overview_counts_queues_waiting_jobs_and_pauses(app: Conveyor,
                                                        clock: FrozenClock) -> None:
    @app.job(name="shop.mail", queue="mail")
    def mail(n: int) -> None: ...

    @app.job(name="shop.sync", queue="sync")
    def sync(n: int) -> None: ...

    first = mail.enqueue(1)
    clock.advance(90)
    mail.enqueue(2)
    mail.options(delay=600).enqueue(3)
    sync.enqueue(1)
    app.admin.apply(changes.CancelJobs(), JobFilter(ids=[first.id]))
    app.admin.pause(queue="idle")
    clock.advance(30)
    view = app.admin.overview()
    by_queue = {q.queue: q for q in view.queues}
    assert sorted(by_queue) == ["idle", "mail", "sync"]
    mail_q = by_queue["mail"]
    assert mail_q.counts[S.AVAILABLE] == 1 and mail_q.counts[S.SCHEDULED] == 1
    assert mail_q.counts[S.CANCELLED] == 1 and mail_q.counts[S.RUNNING] == 0
    assert set(mail_q.counts) == set(S)
    assert mail_q.oldest_waiting_s == 30.0
    assert not mail_q.paused and by_queue["idle"].paused
    assert sum(by_queue["idle"].counts.values()) == 0
    assert view.waiting_by_name == {"shop.mail": {S.AVAILABLE: 1, S.SCHEDULED: 1},
                                    "shop.sync": {S.AVAILABLE: 1}}
    assert view.workers_alive == 0 and view.now == clock.now()


async def test_workers_list_host_pid_concurrency_and_running_jobs(app: Conveyor,
                                                                  clock: FrozenClock) -> None:
    seen: list[object] = []

    @app.job(name="look")
    async def look() -> None:
        seen.extend(await app.admin.aworkers())

    await look.aenqueue()
    await app.adrain(concurrency=3)
    assert len(seen) == 1
    me = seen[0]
    assert me.host == socket.gethostname() and me.pid == os.getpid()  # type: ignore[attr-defined]
    assert (me.concurrency, me.running, me.alive) == (3, 1, True)  # type: ignore[attr-defined]
    assert me.queues == ["default"] and me.started_at == clock.now()  # type: ignore[attr-defined]
    assert await app.admin.aworkers() == []  # a worker that stops cleanly retires


async def test_silent_workers_are_not_alive_then_forgotten(app: Conveyor,
                                                           clock: FrozenClock) -> None:
    backend = await app.storage()
    await backend.heartbeat("w-old", ["mail", "sync"], clock.now(),
                            base.WorkerSpec("box", 42, 8))
    await backend.heartbeat("w-new", [], clock.now())  # registered without details
    clock.advance(app.settings.lease_timeout + 1)
    await backend.heartbeat("w-new", [], clock.now())
    workers = {w.id: w for w in await app.admin.aworkers()}
    old = workers["w-old"]
    assert (old.host, old.pid, old.concurrency, old.queues) == ("box", 42, 8, ["mail", "sync"])
    assert not old.alive and workers["w-new"].alive
    assert workers["w-new"].host is None
    assert (await app.admin.aoverview()).workers_alive == 1
    clock.advance(app.settings.dead_worker_retention - app.settings.lease_timeout)
    await backend.heartbeat("w-new", [], clock.now())
    await leader.prune(app, backend)
    assert [w.id for w in await app.admin.aworkers()] == ["w-new"]
