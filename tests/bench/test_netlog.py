"""The proxy's chunk log read back as round trips: each request the client waits on is one
turn, pipelined messages ride one, and every connection is named by its process."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest

from bench import netdelay, netlog


def _message(kind: bytes, body: bytes) -> bytes:
    return kind + (len(body) + 4).to_bytes(4) + body


def test_a_chunk_reads_as_its_message_letters_and_its_statement() -> None:
    bind = _message(b"B", b"\0_pg3_0\0" + bytes(6))
    assert netlog.messages(bind + _message(b"E", bytes(5)) + _message(b"S", b"")) \
        == ("BES", "_pg3_0=")
    parse = _message(b"P", b"_pg3_1\0SELECT   1\n FROM t\0" + bytes(2))
    assert netlog.messages(parse) == ("P", "_pg3_1=SELECT 1 FROM t")
    assert netlog.messages(_message(b"Q", b"LISTEN x\0")) == ("Q", "LISTEN x")
    assert netlog.messages((8).to_bytes(4) + (80877103).to_bytes(4)) == ("startup", "")
    assert netlog.messages(b"\xff\0\0") == ("-", "")  # the tail of a split message
    nulls = (3).to_bytes(2) + (-1).to_bytes(4, signed=True) * 2 + (1).to_bytes(4) + b"f"
    one = (1).to_bytes(2) + (1).to_bytes(4) + b"1"
    assert netlog.messages(_message(b"D", nulls) + _message(b"D", one)) == ("dD", "")


@pytest.mark.postgres
def test_a_prepared_statement_is_one_turn_each_run_through_the_proxy(
        pg_url: str, tmp_path: Path) -> None:
    log = tmp_path / "wire.log"
    with netdelay.proxied(pg_url, 0, log=str(log)) as via, \
            psycopg.connect(via, autocommit=True) as conn:
        for n in range(4):
            conn.execute("SELECT %s::int + 1 AS netlog_probe", (n,), prepare=True)
    conns = netlog.read(log, {"SELECT $1::int + 1 AS netlog_probe": "probe"})
    ours = [c for c in conns.values() if any(t.statement == "probe" for t in c.turns)]
    assert [c.pid for c in ours] == [os.getpid()]
    probes = [t for t in ours[0].turns if t.statement == "probe"]
    # prepared on first use: Parse alone (one turn), then Bind-Describe-Execute-Sync, one
    # turn per run
    assert [t.asked for t in probes] == ["PS"] + ["BDES"] * 4
    assert all(t.rows for t in probes[1:])
