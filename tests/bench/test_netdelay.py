"""The benchmark's delay proxy: bytes arrive whole and in order, each direction waits its
one-way delay, and chunks in flight do not queue behind each other (latency is added,
bandwidth is not taken away)."""

from __future__ import annotations

import asyncio
import time

import psycopg
import pytest

from bench import netdelay

DELAY = 0.03  # seconds one-way: far above a loaded machine's scheduling noise


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    writer.close()


@pytest.mark.parametrize("delay", [0.0, DELAY])
async def test_round_trips_take_twice_the_delay_and_keep_every_byte_in_order(
        delay: float) -> None:
    echo = await asyncio.start_server(_echo, "127.0.0.1", 0)
    upstream = echo.sockets[0].getsockname()[:2]
    proxy = await netdelay.Proxy(upstream, delay).listen()
    reader, writer = await asyncio.open_connection(*proxy.sockets[0].getsockname()[:2])
    began = time.perf_counter()
    writer.write(b"ping")
    assert await reader.readexactly(4) == b"ping"
    assert time.perf_counter() - began >= 2 * delay

    messages = [bytes([i]) * (1 + i * 5000) for i in range(20)]  # small to ~100 kB
    began = time.perf_counter()
    for message in messages:  # back to back, each its own write
        writer.write(message)
    got = await reader.readexactly(sum(map(len, messages)))
    elapsed = time.perf_counter() - began
    assert got == b"".join(messages)
    # one after another, the 20 chunks would take 20 delays each way
    assert 2 * delay <= elapsed < 2 * delay + 0.2, "chunks in flight waited on each other"

    began = time.perf_counter()
    writer.write_eof()  # the end travels through too, and the echo server's end back
    assert await reader.read() == b""
    assert time.perf_counter() - began >= 2 * delay
    writer.close()
    for server in (proxy, echo):
        server.close()
        await server.wait_closed()


@pytest.mark.postgres
def test_postgres_through_the_proxy_pays_the_round_trip(pg_url: str) -> None:
    with netdelay.proxied(pg_url, DELAY * 1000) as via, psycopg.connect(via) as conn:
        conn.execute("SELECT 1")
        began = time.perf_counter()
        row = conn.execute("SELECT 41 + 1").fetchone()
        elapsed = time.perf_counter() - began
    assert row == (42,)
    assert elapsed >= 2 * DELAY
