"""The one place every call from the app and its workers into the storage backend passes:
each call of a backend coroutine is timed into the app's `metrics.CallTally` (per method:
calls, errors, seconds, slowest) and wrapped in the app's storage hooks (`hooks.Hooks.storage`,
context managers given the method's name; one that raises is logged and left out). An
OpenTelemetry hook plugs in as

    app.hooks.storage.append(lambda method: tracer.start_as_current_span(f"conveyor.{method}"))

`wait` (blocking until work is announced) and `close` pass through untimed: their time is
idleness, not storage work. Everything else of the backend is reached unchanged. Inserts on
the caller's own connection (transactional enqueue), which reach the backends' insert code
without a backend object, are measured the same way by `measured` (as "insert_on"). A
backend's blocking twins of seam methods (SQLite's `insert_blocking`, `get_blocking`: see
`BLOCKING`) are timed and traced under the seam method's name."""

from __future__ import annotations

import contextlib
import inspect
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, cast

from conveyor import hooks as observers
from conveyor import metrics
from conveyor.backends import base

UNTIMED = frozenset({"wait", "close"})
BLOCKING = {"insert_blocking": "insert", "get_blocking": "get"}
"""Blocking methods a backend may have, by the seam method each one is the twin of."""
_methods: dict[type, tuple[str, ...]] = {}


def traced(backend: base.Backend, tally: metrics.CallTally, hooks: observers.Hooks) -> base.Backend:
    """`backend` seen through the tally and hooks (`hooks.storage` is read at each call, so
    hooks added later apply to backends already open)."""
    return cast(base.Backend, TracedBackend(backend, tally, hooks))


class TracedBackend:
    def __init__(self, backend: base.Backend, tally: metrics.CallTally,
                 hooks: observers.Hooks) -> None:
        self.inner = backend
        for name in _coroutines(type(backend)):
            setattr(self, name, _timed(name, getattr(backend, name), tally, hooks))
        for name, seam in BLOCKING.items():
            method = getattr(backend, name, None)  # None: the caller crosses an event loop
            setattr(self, name, method and _timed_blocking(seam, method, tally, hooks))

    def __getattr__(self, name: str) -> Any:  # the rest of the backend, unchanged
        return getattr(self.inner, name)

    def __repr__(self) -> str:
        return f"traced({self.inner!r})"


@contextlib.contextmanager
def measured(method: str, tally: metrics.CallTally, hooks: observers.Hooks) -> Iterator[None]:
    """Time and trace one storage call made without a backend object."""
    started, failed = time.perf_counter(), True
    try:
        with hooks.calling(method):
            yield
        failed = False
    finally:
        tally.add(method, time.perf_counter() - started, failed)


async def _hooked(name: str, method: Callable[..., Awaitable[Any]], args: tuple[Any, ...],
                  kwargs: dict[str, Any], tally: metrics.CallTally, hooks: observers.Hooks) -> Any:
    with measured(name, tally, hooks):
        return await method(*args, **kwargs)


def _coroutines(kind: type) -> tuple[str, ...]:
    """The public coroutine methods of a backend class (looked up once per class)."""
    names = _methods.get(kind)
    if names is None:
        names = _methods[kind] = tuple(
            name for name, member in inspect.getmembers(kind, inspect.iscoroutinefunction)
            if not name.startswith("_") and name not in UNTIMED)
    return names


def _timed(name: str, method: Callable[..., Awaitable[Any]], tally: metrics.CallTally,
           hooks: observers.Hooks) -> Callable[..., Awaitable[Any]]:
    clock, add = time.perf_counter, tally.add

    async def call(*args: Any, **kwargs: Any) -> Any:
        if hooks.storage:
            return await _hooked(name, method, args, kwargs, tally, hooks)
        started = clock()
        try:
            result = await method(*args, **kwargs)
        except BaseException:
            add(name, clock() - started, True)
            raise
        add(name, clock() - started, False)
        return result

    call.__name__ = call.__qualname__ = name
    return call


def _timed_blocking(name: str, method: Callable[..., Any], tally: metrics.CallTally,
                    hooks: observers.Hooks) -> Callable[..., Any]:
    clock, add = time.perf_counter, tally.add

    def call(*args: Any, **kwargs: Any) -> Any:
        if hooks.storage:
            with measured(name, tally, hooks):
                return method(*args, **kwargs)
        started = clock()
        try:
            result = method(*args, **kwargs)
        except BaseException:
            add(name, clock() - started, True)
            raise
        add(name, clock() - started, False)
        return result

    call.__name__ = call.__qualname__ = name
    return call
