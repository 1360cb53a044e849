"""The engine's hook points: what observers see, and that a broken observer changes nothing."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from conveyor import Conveyor, JobState, hooks
from tests.observability.jobs_app import declare


@pytest.fixture
def app(url: str) -> Iterator[Conveyor]:
    conveyor = Conveyor(url)
    declare(conveyor)
    yield conveyor
    conveyor.close()


def test_hooks_see_enqueues_batches_and_attempts_with_their_outcomes(app: Conveyor) -> None:
    seen: list[tuple[str, object]] = []

    @contextlib.contextmanager
    def on_enqueue(call: hooks.Enqueue) -> Iterator[None]:
        seen.append(("enqueue", [row.name for row in call.rows]))
        yield
        seen.append(("inserted", len(call.ids)))

    @contextlib.contextmanager
    def on_attempt(attempt: hooks.Attempt) -> Iterator[None]:
        yield
        seen.append((attempt.job.name, attempt.outcome_name))

    app.hooks.enqueue.append(on_enqueue)
    app.hooks.attempt.append(on_attempt)
    app.hooks.stopped.append(lambda: seen.append(("stopped", None)))
    greet, boom = app.registry.get("greet"), app.registry.get("boom")
    greet.enqueue("ada")
    app.batch([greet.s("grace"), boom.s()], allow_failures=True)
    app.drain()
    assert seen[:4] == [("enqueue", ["greet"]), ("inserted", 1),
                        ("enqueue", ["greet", "boom"]), ("inserted", 2)]
    assert sorted(seen[4:-1]) == [("boom", "discarded"), ("greet", "completed"),
                                  ("greet", "completed")]
    assert seen[-1] == ("stopped", None)


def test_a_hook_that_raises_is_left_out_and_jobs_go_on(app: Conveyor,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    def broken_on_entry(_: object) -> contextlib.AbstractContextManager[None]:
        raise RuntimeError("observer is down")

    @contextlib.contextmanager
    def broken_on_exit(_: object) -> Iterator[None]:
        yield
        raise RuntimeError("observer fell over")

    app.hooks.enqueue += [broken_on_entry, broken_on_exit]
    app.hooks.attempt += [broken_on_entry, broken_on_exit]
    app.hooks.stopped.append(lambda: 1 / 0)
    job = app.registry.get("greet").enqueue("ada")
    assert app.drain() == 1
    assert app.get(job.id).state is JobState.COMPLETED
    assert app.get(job.id).result == "hello ada"
    failures = [r.getMessage() for r in caplog.records if r.name == "conveyor.hooks"]
    assert len(failures) == 5 and any("on entry" in f for f in failures)
    assert any("when the worker stopped" in f for f in failures)


def test_every_outcome_has_the_name_logs_and_spans_give_it() -> None:
    from datetime import UTC, datetime

    from conveyor import model, outcome

    now = datetime.now(UTC)
    job = model.Job(id=1, name="greet", queue="mail", state=JobState.RUNNING, priority=0,
                    args=[], kwargs={}, attempt=1, max_attempts=3, run_at=now,
                    inserted_at=now)
    named = {
        "": None, "completed": outcome.Completed(1, 1), "retried": outcome.Failed(1, 1, "{}", now),
        "discarded": outcome.Failed(1, 1, "{}", None), "snoozed": outcome.Snoozed(1, 1, now),
        "cancelled": outcome.Cancelled(1, 1, "{}"), "interrupted": outcome.Interrupted(1, 1, "{}")}
    for name, ended in named.items():
        assert hooks.Attempt(job, "w", ended).outcome_name == name
