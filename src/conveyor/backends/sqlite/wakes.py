"""Wake-ups across processes on one SQLite file, as PostgreSQL's NOTIFY gives its listeners.

A waiting backend binds a unix datagram socket in a directory next to the database file
(`<file>-wake/`); a commit that makes jobs available sends one byte to every socket there, so
a worker in another process hears of it at once instead of at its next `PRAGMA data_version`
poll. Polling stays: it catches whatever this misses. So sending never blocks and never fails
a commit: a full socket's owner has a wake-up pending already, a socket nobody holds any more
(its process died) is removed by the sender that meets it, and where unix datagram sockets are
missing or the path is too long for one, nothing is sent or heard.

A producer enqueueing in a tight loop wakes each listener at most every `SPACING` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import time
from collections.abc import Callable

SUFFIX = ".sock"
"""Of the sockets' file names (a sender leaves any other file there alone)."""
SPACING = 0.002
"""Seconds after a wake-up before the same socket gets another one (a busy worker's poll
interval): a producer enqueueing in a tight loop wakes a waiting worker no more often than the
worker's own polling does, and so takes no more of the CPU from it. A job enqueued meanwhile is
not missed: the claim that wake-up started sees it if it committed first, else the worker's
next wait (its `data_version` changed), or its polling if it was already waiting again."""
_RACY_NS = 1_000_000_000
"""A directory changed this recently is listed again on every send: its time stamp is too
coarse to tell a second change from the first."""


def directory_of(path: str) -> str:
    """The wake-up sockets' directory of the database file at `path`."""
    return os.path.abspath(path) + "-wake"


class Listener:
    """A backend's own socket, read on its event loop: `woken` once per batch of wake-ups."""

    def __init__(self, directory: str, woken: Callable[[], None]) -> None:
        self.directory = directory
        self.woken = woken
        self.name: str | None = None
        """The socket's file name in `directory` (None: not listening)."""
        self._sock: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pid = os.getpid()

    def listen(self) -> None:
        """Listen on the running loop from now on (a no-op when it does already; tried once
        per loop: where binding fails, polling alone wakes this backend)."""
        loop = asyncio.get_running_loop()
        if loop is self._loop:
            return
        self.close()
        self._loop = loop
        name = secrets.token_hex(6) + SUFFIX
        try:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        except (AttributeError, OSError):  # no unix datagram sockets on this platform
            return
        try:
            os.makedirs(self.directory, exist_ok=True)
            sock.bind(os.path.join(self.directory, name))
            sock.setblocking(False)
            loop.add_reader(sock.fileno(), self._drain)
        except OSError:  # a read-only directory, a path too long for a socket
            sock.close()
            return
        self._sock, self.name, self._pid = sock, name, os.getpid()

    def _drain(self) -> None:
        sock = self._sock
        if sock is None:
            return
        with contextlib.suppress(OSError):  # BlockingIOError: all read
            while True:
                sock.recv(16)
        self.woken()

    def close(self) -> None:
        """Stop listening and remove the socket's file."""
        sock, name, loop = self._sock, self.name, self._loop
        self._sock = self.name = self._loop = None
        if sock is None or name is None or loop is None:
            return
        if os.getpid() != self._pid:  # a forked copy: the loop and the file are the parent's
            sock.close()
            return
        if not loop.is_closed():
            loop.remove_reader(sock.fileno())
        sock.close()
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(self.directory, name))


class Sender:
    """Sends a wake-up to every socket in the directory (but the sender's own)."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self._sock: socket.socket | None = None
        self._names: list[str] = []
        self._paths: dict[str, str] = {}
        """Each listed socket's path (joined once per listing, not once per wake-up)."""
        self._listed: int | None = None
        """The directory's time stamp (ns) when `_names` was listed."""
        self._sent: dict[str, float] = {}
        """When each socket was last sent a wake-up (monotonic seconds)."""

    def send(self, own: str | None) -> None:
        """One byte to each socket but `own` (this backend's), none waited for. The sockets
        listed before are woken first and the directory checked after (a stat, a listing
        when it changed), so neither is between a commit and their wake-ups; a socket
        found only now is woken then."""
        try:
            sock = self._sock or self._open()
        except (AttributeError, OSError):  # no unix datagram sockets here
            return
        known = self._names
        self._wake(sock, known, own)
        try:
            listed = self._listeners()
        except OSError:  # nobody has listened yet
            return
        if listed is not known:
            self._wake(sock, [name for name in listed if name not in known], own)

    def _wake(self, sock: socket.socket, names: list[str], own: str | None) -> None:
        now = time.monotonic()
        for name in names:
            if name == own or now - self._sent.get(name, -SPACING) < SPACING:
                continue
            self._sent[name] = now
            path = self._paths[name]
            try:
                sock.sendto(b"\0", path)
            except BlockingIOError:  # its queue is full: a wake-up is pending there
                pass
            except ConnectionRefusedError:  # nobody holds it: its process ended
                with contextlib.suppress(OSError):
                    os.unlink(path)
            except OSError:  # gone meanwhile, or not ours to write to
                pass

    def _listeners(self) -> list[str]:
        """The sockets' names, listed again (a new list) when the directory changed (a stat
        is cheaper than a listing, and sockets come and go only as workers start and stop)."""
        stamp = os.stat(self.directory).st_mtime_ns
        if stamp != self._listed or time.time_ns() - stamp < _RACY_NS:
            self._names = [name for name in os.listdir(self.directory)
                           if name.endswith(SUFFIX)]
            self._paths = {name: os.path.join(self.directory, name) for name in self._names}
            self._listed = stamp
            self._sent = {name: at for name, at in self._sent.items() if name in self._names}
        return self._names

    def _open(self) -> socket.socket:
        sock = self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.setblocking(False)
        return sock

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
