"""Every call into the backend passes one place: timed per method into `app.storage_calls`
and wrapped by `app.hooks.storage`, on both backends."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from conveyor import Conveyor
from conveyor.backends.sqlite.backend import path_of


def test_enqueue_and_drain_are_timed_per_method(app: Conveyor) -> None:
    @app.job(name="work")
    def work(n: int) -> int:
        return n

    for n in range(3):
        work.enqueue(n)
    app.drain()
    calls = {stat.method: stat for stat in app.storage_calls.snapshot()}
    assert calls["insert"].calls == 3 and calls["insert"].errors == 0
    assert calls["claim"].calls >= 1 and calls["finish"].calls >= 1
    assert all(stat.seconds >= stat.slowest > 0 for stat in calls.values())
    assert "wait" not in calls and "close" not in calls  # idleness, not storage work


def test_hooks_wrap_each_call_and_errors_are_counted(app: Conveyor) -> None:
    seen: list[tuple[str, str]] = []

    @contextlib.contextmanager
    def span(method: str) -> Iterator[None]:
        seen.append(("enter", method))
        try:
            yield
        finally:
            seen.append(("exit", method))

    app.hooks.storage.append(span)

    async def scenario() -> None:
        backend = await app.storage()
        await backend.counts()
        with pytest.raises(TypeError):
            await backend.get("one", "too many")  # type: ignore[call-arg]

    app.blocking.run(scenario)
    assert ("enter", "counts") in seen and seen[seen.index(("enter", "counts")) + 1] == \
        ("exit", "counts")
    assert ("exit", "get") in seen  # left even when the call raised
    calls = {stat.method: stat for stat in app.storage_calls.snapshot()}
    assert (calls["get"].calls, calls["get"].errors) == (1, 1)


def test_every_backend_an_app_opens_is_traced(app: Conveyor) -> None:
    assert repr(app.open_backend()).startswith("traced(")


def test_inserts_on_the_callers_connection_are_measured_too(tmp_path: Path) -> None:
    app = Conveyor(f"sqlite:///{tmp_path / 'shop.db'}")

    @app.job(name="ship")
    def ship(order_id: int) -> None: ...

    app.migrate()
    names: list[str] = []
    app.hooks.storage.append(lambda method: (names.append(method), contextlib.nullcontext())[1])
    with sqlite3.connect(path_of(app.url)) as conn:
        ship.using(conn).enqueue(1)
        ship.using(conn).enqueue(2)
    calls = {stat.method: stat for stat in app.storage_calls.snapshot()}
    assert calls["insert_on"].calls == 2 and names == ["insert_on", "insert_on"]
    app.close()


def test_a_storage_hook_that_raises_is_left_out(app: Conveyor,
                                                caplog: pytest.LogCaptureFixture) -> None:
    def broken(method: str) -> contextlib.AbstractContextManager[None]:
        raise RuntimeError(f"observer broke on {method}")

    app.hooks.storage.append(broken)
    assert app.counts() == {}  # the call itself goes on
    assert "failed on entry; left out" in caplog.text
    assert {stat.method for stat in app.storage_calls.snapshot()} >= {"counts"}
