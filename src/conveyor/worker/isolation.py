"""`isolation="process"`: run a job in a child process that can be killed.

Threads cannot be stopped, so a hard timeout or an operator cancel of CPU-bound code needs a
process. Children come from a fork server where the platform has one (safe in a threaded
parent; the server has the job modules imported already, so a replacement child costs ~10 ms
instead of the ~300 ms of a fresh interpreter), else from `spawn`. They are reused one job at
a time, and killed and replaced when their job times out, is cancelled, or crashes them. Only
JSON crosses the pipe: the child imports the job function by module and qualified name.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import inspect
import multiprocessing
import multiprocessing.connection
import os
import sys
import threading
import time
import types
from collections.abc import Iterator, Sequence
from multiprocessing.process import BaseProcess
from typing import Any

import orjson

from conveyor import control, encoding
from conveyor.worker import failure

_CONTEXT = (multiprocessing.get_context("forkserver")
            if "forkserver" in multiprocessing.get_all_start_methods()
            else multiprocessing.get_context("spawn"))


CHILD_NICENESS = 10


class ChildCrashed(Exception):
    """The child process died while running the job (segfault, os._exit, out of memory)."""


class RemoteError(Exception):
    """The job raised in its child process; carries the child's type name and traceback."""

    def __init__(self, type_name: str, message: str, trace: str) -> None:
        super().__init__(message)
        self.type_name, self.remote_traceback = type_name, trace


class UnstorableResult(RemoteError):
    """The job finished in its child, but its result cannot be stored (not JSON)."""


class _Child:
    _starting = threading.Lock()
    """Children start one at a time: each start swaps `__main__` (see `_without_main`)."""

    def __init__(self) -> None:
        self.conn, child_end = _CONTEXT.Pipe()
        self.process: BaseProcess = _CONTEXT.Process(
            target=_child_main, args=(child_end, os.getpid()), daemon=True,
            name="conveyor-isolated")
        with self._starting, _without_main():
            self.process.start()
        child_end.close()

    def kill(self) -> None:
        with contextlib.suppress(Exception):
            self.process.kill()
            self.process.join(timeout=5)
        self.conn.close()


class ProcessPool:
    """Up to `size` reusable children; one job per child at a time."""

    def __init__(self, size: int, preload: Sequence[str] = ()) -> None:
        self._idle: list[_Child] = []
        self._slots = asyncio.Semaphore(size)
        if _CONTEXT.get_start_method() == "forkserver":
            _CONTEXT.set_forkserver_preload(["conveyor.worker.isolation", *preload])

    async def run(self, module: str, qualname: str, args: Any, kwargs: Any,
                  timeout: float | None) -> Any:
        """Run `module.qualname(*args, **kwargs)` in a child; kill it on timeout or cancel."""
        async with self._slots:
            child = self._idle.pop() if self._idle else await asyncio.to_thread(_Child)
            request = orjson.dumps([module, qualname, args, kwargs])
            try:
                child.conn.send_bytes(request)
                reply = await asyncio.wait_for(asyncio.to_thread(_receive, child), timeout)
            except BaseException:
                child.kill()  # timed out, cancelled or crashed: the child cannot be trusted
                raise
            self._idle.append(child)
        return _unpack(reply)

    def close(self) -> None:
        for child in self._idle:
            child.kill()
        self._idle.clear()


@contextlib.contextmanager
def _without_main() -> Iterator[None]:
    """Start a child without the parent's `__main__`.

    Children import job functions by module name (a job cannot live in `__main__`; that is
    refused at registration), so they need nothing from it. But multiprocessing re-imports
    the parent's main script in every child it starts, running its top level again: a
    script that enqueues and drains without an `if __name__ == "__main__":` guard would
    enqueue duplicates and start children from the children. While a child starts,
    `__main__` is a bare stand-in, so there is nothing to re-import."""
    real = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = real


def _receive(child: _Child) -> Any:
    try:
        return orjson.loads(child.conn.recv_bytes())
    except (EOFError, OSError):
        child.process.join(timeout=5)
        raise ChildCrashed(f"the job's process died with exit code {child.process.exitcode}") \
            from None


def _unpack(reply: Any) -> Any:
    status, *payload = reply
    if status == "ok":
        return encoding.loads(payload[0])
    if status == "unstorable":
        raise UnstorableResult(payload[0], payload[1], "")
    if status == "control":
        raise control.rebuild(payload[0], payload[1])
    raise RemoteError(*payload)


def _child_main(conn: multiprocessing.connection.Connection, worker: int) -> None:
    """Child loop: import the job function, run it, send back JSON. One job at a time.

    Children run at a lower CPU priority: a CPU-bound job must not starve its worker's loop
    (claims, completions of the other jobs) on a busy machine."""
    threading.Thread(target=_exit_with_worker, args=(worker,), daemon=True).start()
    with contextlib.suppress(OSError, AttributeError):  # AttributeError: no os.nice here
        os.nice(CHILD_NICENESS)
    while True:
        try:
            module, qualname, args, kwargs = orjson.loads(conn.recv_bytes())
        except EOFError:
            return
        conn.send_bytes(orjson.dumps(_run_one(module, qualname, args, kwargs)))


def _run_one(module: str, qualname: str, args: Any, kwargs: Any) -> list[Any]:
    """Run the job; its result as JSON text, or its error as storable text, whatever it
    raised (SystemExit and KeyboardInterrupt too: they end the attempt, not the child)."""
    try:
        value = _resolve(module, qualname)(*args, **kwargs)
        if inspect.iscoroutine(value):  # not asyncio's test: a generator is a plain value
            value = asyncio.run(value)
    except control.JobControl as exc:  # Snooze, Retry, Cancel...: steer the job as in-process
        return ["control", *control.describe(exc)]
    except BaseException as exc:
        return ["error", failure.type_of(exc), failure.message_of(exc),
                failure.traceback_of(exc)]
    try:
        return ["ok", encoding.dumps(value, what="result")]
    except Exception as exc:
        return ["unstorable", failure.type_of(exc), failure.message_of(exc)]


def _exit_with_worker(worker: int) -> None:
    """A SIGKILLed worker cannot kill its children: they notice and exit by themselves.

    The launcher is the worker (spawn) or the fork server, which exits with the worker; either
    way the child is re-parented when it goes. The worker's pid comes from the worker, so a
    worker that died while this child was starting is noticed too.
    """
    launcher = os.getppid()
    while os.getppid() == launcher and _alive(worker):
        time.sleep(0.5)
    os._exit(1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a pid reused by another user's process: ours is gone
        return False
    return True


def _resolve(module: str, qualname: str) -> Any:
    target: Any = importlib.import_module(module)
    for part in qualname.split("."):
        target = getattr(target, part)
    return getattr(target, "func", target)  # a JobType wraps the function
