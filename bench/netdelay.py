"""A TCP proxy that delays every chunk by a fixed one-way time: PostgreSQL "across a network".

    python -m bench.netdelay --upstream 127.0.0.1:5432 --delay-ms 1   # prints its port

Each accepted connection gets its own connection upstream and one FIFO per direction: a
chunk read at time t is written at t + delay, in arrival order. A round trip therefore costs
2 x delay plus the proxy's own hop, and chunks in flight never wait on each other (latency is
added, bandwidth is not taken away). TCP_NODELAY is set on both sockets, so the kernel holds
nothing back. The loop runs on select(), whose timeout has microsecond resolution: epoll
rounds up to whole milliseconds, which would turn a 0.25 ms delay into 1 ms.

The proxy exits when its standard input closes, so it never outlives the run that started it.
With `--log PATH` it also writes every chunk it reads to PATH (`bench.netlog`: when, which
connection, which way, which protocol messages), so the round trips each stage makes can be
counted afterwards (`python -m bench.netlog PATH`).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import selectors
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator

from psycopg.conninfo import conninfo_to_dict

from bench import workers

Tap = Callable[[int, bool, bytes], None]
"""Sees each chunk as it is read: its connection's number, whether it comes from the client,
and its bytes (`netlog.Log.chunk`)."""


class Pipe:
    """One direction of one connection: chunks leave, in arrival order, at arrival + delay.
    An end of stream travels the same way (as a half-close); once both directions of the
    connection have delivered theirs, both sockets are closed."""

    def __init__(self, loop: asyncio.AbstractEventLoop, delay: float) -> None:
        self.loop, self.delay = loop, delay
        self.chunks: collections.deque[tuple[float, bytes]] = collections.deque()
        self.target: asyncio.Transport | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.partner: Pipe | None = None  # the other direction
        self.ending = self.done = False

    def put(self, data: bytes) -> None:
        if self.delay <= 0 and data and not self.chunks and self.target is not None:
            if not self.target.is_closing():
                self.target.write(data)  # due now and nothing ahead of it: no timer
            return
        self.chunks.append((self.loop.time() + self.delay, data))
        self._arm()

    def end(self) -> None:
        """The source is at its end: pass it on once what was read before has left."""
        if not self.ending:
            self.ending = True
            self.put(b"")

    def connect(self, target: asyncio.Transport) -> None:
        self.target = target
        self._arm()

    def _arm(self) -> None:
        if self.timer is None and self.target is not None and self.chunks:
            self.timer = self.loop.call_at(self.chunks[0][0], self._flush)

    def _flush(self) -> None:
        self.timer = None
        target = self.target
        assert target is not None
        now = self.loop.time()
        while self.chunks and self.chunks[0][0] <= now:
            _, data = self.chunks.popleft()
            if data and not target.is_closing():
                target.write(data)
            elif not data:
                self._deliver_end(target)
                return
        self._arm()

    def _deliver_end(self, target: asyncio.Transport) -> None:
        self.done = True
        if not target.is_closing() and target.can_write_eof():
            target.write_eof()
        partner = self.partner
        if partner is None or partner.done:
            target.close()
            if partner is not None and partner.target is not None:
                partner.target.close()


class Side(asyncio.Protocol):
    """One socket of a proxied connection: what it reads goes into `outgoing`, and it is the
    target of `incoming`. Reading pauses while the other socket's send buffer is full."""

    def __init__(self, incoming: Pipe, outgoing: Pipe, tap: Tap | None = None,
                 number: int = 0, client: bool = False) -> None:
        self.incoming, self.outgoing = incoming, outgoing
        self.transport: asyncio.Transport | None = None
        self.peer: Side | None = None
        self.tap, self.number, self.client = tap, number, client

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.incoming.connect(transport)

    def data_received(self, data: bytes) -> None:
        if self.tap is not None:
            self.tap(self.number, self.client, data)
        self.outgoing.put(data)

    def eof_received(self) -> bool:
        self.outgoing.end()
        return True  # keep the socket open: the other direction may still be sending

    def connection_lost(self, exc: Exception | None) -> None:
        self.outgoing.end()

    def pause_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.resume_reading()


class Proxy:
    def __init__(self, upstream: tuple[str, int], delay: float, tap: Tap | None = None,
                 opened: Callable[[int, asyncio.Transport], None] | None = None) -> None:
        """`tap` sees every chunk read; `opened` each client's connection as it is made."""
        self.upstream, self.delay = upstream, delay
        self.tap, self.opened = tap, opened
        self.tasks: set[asyncio.Task[None]] = set()
        self.connections = 0

    def accept(self) -> Side:
        loop = asyncio.get_running_loop()
        up, down = Pipe(loop, self.delay), Pipe(loop, self.delay)
        up.partner, down.partner = down, up
        self.connections += 1
        client = Side(incoming=down, outgoing=up, tap=self.tap, number=self.connections,
                      client=True)
        task = loop.create_task(self._dial(client, up, down))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return client

    async def _dial(self, client: Side, up: Pipe, down: Pipe) -> None:
        loop = asyncio.get_running_loop()
        try:
            _, server = await loop.create_connection(
                lambda: Side(incoming=up, outgoing=down, tap=self.tap, number=client.number),
                *self.upstream)
        except OSError:
            if client.transport is not None:
                client.transport.close()
            return
        client.peer, server.peer = server, client
        if self.opened is not None and client.transport is not None:
            self.opened(client.number, client.transport)

    async def listen(self, port: int = 0) -> asyncio.Server:
        """Accept connections on 127.0.0.1:`port` (0: any free port; read it off the server)."""
        return await asyncio.get_running_loop().create_server(self.accept, "127.0.0.1", port)

    async def serve(self, port: int) -> None:
        """Listen, print the port, and run until standard input closes."""
        loop = asyncio.get_running_loop()
        server = await self.listen(port)
        print(server.sockets[0].getsockname()[1], flush=True)
        stdin_closed = asyncio.Event()
        threading.Thread(target=lambda: (sys.stdin.read(), loop.call_soon_threadsafe(
            stdin_closed.set)), daemon=True).start()
        await stdin_closed.wait()
        server.close()


@contextlib.contextmanager
def proxied(url: str, delay_ms: float, log: str | None = None) -> Iterator[str]:
    """`url` (PostgreSQL) reached through a delay proxy started here and stopped afterwards;
    with `log`, the proxy writes its chunks there (`bench.netlog`)."""
    params = conninfo_to_dict(url)
    host, port = params.get("host", "127.0.0.1"), params.get("port", "5432")
    command = [sys.executable, "-m", "bench.netdelay", "--upstream", f"{host}:{port}",
               "--delay-ms", f"{delay_ms:g}", *(("--log", log) if log else ())]
    proc = subprocess.Popen(command, cwd=workers.ROOT, env=workers.environment(url),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdin is not None
    assert proc.stdout is not None
    try:
        listening = int(proc.stdout.readline())
        user, name = params.get("user", "postgres"), params.get("dbname", "postgres")
        yield f"postgresql://{user}@127.0.0.1:{listening}/{name}"
    finally:
        proc.stdin.close()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run(upstream: tuple[str, int], delay_ms: float, port: int = 0,
        log: str | None = None) -> None:
    loop = asyncio.SelectorEventLoop(selectors.SelectSelector())
    with contextlib.ExitStack() as stack:
        proxy = Proxy(upstream, delay_ms / 1000)
        if log is not None:
            from bench import netlog

            written = stack.enter_context(netlog.Log.writing(log))
            proxy.tap, proxy.opened = written.chunk, written.opened
        try:
            loop.run_until_complete(proxy.serve(port))
        finally:
            loop.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--upstream", default="127.0.0.1:5432", help="HOST:PORT to forward to")
    parser.add_argument("--delay-ms", type=float, default=1.0, help="one-way delay")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0: any free)")
    parser.add_argument("--log", help="write every chunk read to this file (bench.netlog)")
    args = parser.parse_args()
    host, _, port = args.upstream.rpartition(":")
    run((host, int(port)), args.delay_ms, args.port, args.log)


if __name__ == "__main__":
    main()
