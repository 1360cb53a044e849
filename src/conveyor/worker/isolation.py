"""`isolation="process"`: run a job in a child process that can be killed.

Threads cannot be stopped, so a hard timeout or an operator cancel of CPU-bound code needs a
process. Children are started with `spawn` (safe in a threaded parent), reused one job at a
time, and killed and replaced when their job times out, is cancelled, or crashes them. Only
JSON crosses the pipe: the child imports the job function by module and qualified name.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import multiprocessing
import multiprocessing.connection
import os
import threading
import time
import traceback
from multiprocessing.process import BaseProcess
from typing import Any

import orjson

from conveyor import encoding

_SPAWN = multiprocessing.get_context("spawn")


class ChildCrashed(Exception):
    """The child process died while running the job (segfault, os._exit, out of memory)."""


class RemoteError(Exception):
    """The job raised in its child process; carries the child's type name and traceback."""

    def __init__(self, type_name: str, message: str, trace: str) -> None:
        super().__init__(message)
        self.type_name, self.remote_traceback = type_name, trace


class _Child:
    def __init__(self) -> None:
        self.conn, child_end = _SPAWN.Pipe()
        self.process: BaseProcess = _SPAWN.Process(
            target=_child_main, args=(child_end, os.getpid()), daemon=True,
            name="conveyor-isolated")
        self.process.start()
        child_end.close()

    def kill(self) -> None:
        with contextlib.suppress(Exception):
            self.process.kill()
            self.process.join(timeout=5)
        self.conn.close()


class ProcessPool:
    """Up to `size` reusable children; one job per child at a time."""

    def __init__(self, size: int) -> None:
        self._idle: list[_Child] = []
        self._slots = asyncio.Semaphore(size)

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
    raise RemoteError(*payload)


def _child_main(conn: multiprocessing.connection.Connection, parent: int) -> None:
    """Child loop: import the job function, run it, send back JSON. One job at a time."""
    # The parent's pid comes from the parent: if it died while this child was starting,
    # getppid() here would already name the new parent and the watchdog would never fire.
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    while True:
        try:
            module, qualname, args, kwargs = orjson.loads(conn.recv_bytes())
        except EOFError:
            return
        try:
            value = _resolve(module, qualname)(*args, **kwargs)
            if asyncio.iscoroutine(value):
                value = asyncio.run(value)
            reply = ["ok", encoding.dumps(value, what="result")]
        except Exception as exc:
            reply = ["error", type(exc).__name__, str(exc), traceback.format_exc()]
        conn.send_bytes(orjson.dumps(reply))


def _exit_with_parent(parent: int) -> None:
    """A SIGKILLed worker cannot kill its children: they notice and exit by themselves."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def _resolve(module: str, qualname: str) -> Any:
    target: Any = importlib.import_module(module)
    for part in qualname.split("."):
        target = getattr(target, part)
    return getattr(target, "func", target)  # a JobType wraps the function
