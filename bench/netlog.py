"""What went over the wire through `bench.netdelay`: its chunk log, read back as round trips.

    python -m bench.netlog PATH     # PATH written by `python -m bench.netdelay --log PATH`
    python -m bench.netlog --url postgresql://postgres@127.0.0.1:5432/bench --delay-ms 1
                                    # Conveyor's latency run and the raw floor's, logged

The proxy writes one line per chunk it reads: when (`time.time()`), which connection, which
way (`>` client to server, `<` back), how many bytes, and the PostgreSQL messages in it (their
type letters, a row of NULLs as 'd'; a statement's text for Query and Parse, a prepared
statement's name for Bind).
Each connection is first named by the process that opened it (`open PID`), so a worker's
LISTEN connection and its pooled ones are told apart from another worker's.

A *turn* is one request the client sends and waits on: the chunks it sends before the server
answers, and the answer. Counting turns, not chunks, counts round trips: pipelined messages
sent back to back ride one turn. Notifications ('A') arriving on their own are no turn.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import dataclasses
import os
import statistics
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from bench import netdelay

TEXT = 300
"""Characters of a statement's text kept in the log: enough to tell statements apart."""
_STARTUP_CODES = (80877103, 196608)  # SSLRequest, protocol 3.0


@dataclasses.dataclass
class Log:
    """The proxy's side: writes chunks as lines to `out` (see the module's docstring)."""

    out: IO[str]

    @classmethod
    @contextlib.contextmanager
    def writing(cls, path: str) -> Iterator[Log]:
        with open(path, "w", buffering=1 << 16) as out:
            yield cls(out)

    def opened(self, number: int, transport: Any) -> None:
        """A client connected: name the process holding its end (a local client)."""
        peer = transport.get_extra_info("peername")
        pid = owner(peer[1]) if peer else None
        self.out.write(f"{time.time():.6f} {number} open {pid or 0}\n")

    def chunk(self, number: int, from_client: bool, data: bytes) -> None:
        kinds, text = messages(data)
        self.out.write(f"{time.time():.6f} {number} {'>' if from_client else '<'} {len(data)} "
                       f"{kinds}\t{text}\n")


def messages(data: bytes) -> tuple[str, str]:
    """The type letters of the messages in a chunk, and the first statement's text (Query or
    Parse) or name (Bind of a prepared one). A chunk that starts mid-message reads as '?'."""
    if len(data) >= 8 and int.from_bytes(data[:4]) == len(data) \
            and int.from_bytes(data[4:8]) in _STARTUP_CODES:
        return "startup", ""
    kinds: list[str] = []
    text = ""
    at = 0
    while at + 5 <= len(data):
        kind, length = data[at], int.from_bytes(data[at + 1:at + 5])
        if (not 65 <= kind <= 122 and kind not in b"123") or length < 4:
            kinds.append("?")
            break
        body = data[at + 5:at + 1 + length]
        kinds.append("d" if kind == ord("D") and _nulls(body) else chr(kind))
        if not text and kind in b"QPB":
            text = _statement(chr(kind), body)
        at += 1 + length
    return "".join(kinds) or "-", text


def _nulls(row: bytes) -> bool:
    """A DataRow of several columns, all NULL but one at most (Conveyor's claim that started
    nothing: its NULL job beside `keyed`)."""
    count, at, filled = int.from_bytes(row[:2]), 2, 0
    for _ in range(count):
        if at + 4 > len(row):
            return False  # cut off by the chunk's end: the row goes on
        size = int.from_bytes(row[at:at + 4], signed=True)
        filled += size >= 0
        at += 4 + max(size, 0)
    return count >= 2 and filled <= 1


def _statement(kind: str, body: bytes) -> str:
    parts = body.split(b"\0", 2)
    if kind == "Q":
        raw = parts[0]
    elif kind == "P" and len(parts) > 1:  # name, text, ...
        return f"{parts[0].decode(errors='replace')}={_squash(parts[1])}"
    elif kind == "B" and len(parts) > 1:  # portal, statement name, ...
        return f"{parts[1].decode(errors='replace')}=" if parts[1] else ""
    else:
        return ""
    return _squash(raw)


def _squash(raw: bytes) -> str:
    return " ".join(raw.decode(errors="replace").split())[:TEXT]


def owner(port: int) -> int | None:
    """The process holding the local TCP socket bound to `port` (Linux's /proc), if any."""
    inode = None
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as rows:
            for row in list(rows)[1:]:
                fields = row.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[9] != "0":
                    inode = fields[9]
                    break
        if inode:
            break
    if inode is None:
        return None
    wanted = f"socket:[{inode}]"
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{pid}/fd/{fd}") == wanted:
                        return int(pid)
    return None


# -- reading it back ----------------------------------------------------------------------


@dataclasses.dataclass
class Turn:
    """One request and its answer on one connection."""

    sent: float  # its first chunk read from the client
    answered: float  # the last chunk of its answer read from the server
    asked: str  # the client's message letters, e.g. "BES" or "PBDES"
    answer: str  # the server's, e.g. "2DCZ"
    statement: str  # the statement's name (`label`)

    @property
    def rows(self) -> bool:
        return "D" in self.answer


@dataclasses.dataclass
class Connection:
    number: int
    pid: int = 0
    turns: list[Turn] = dataclasses.field(default_factory=list)
    notified: list[float] = dataclasses.field(default_factory=list)  # 'A' read, alone
    prepared: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def listens(self) -> bool:
        return any(turn.statement.startswith("LISTEN") for turn in self.turns)


def read(path: str | Path, names: dict[str, str] | None = None) -> dict[int, Connection]:
    """The log's connections by number, their chunks grouped into turns; statements named
    by `label` with `names` (normalized text -> name)."""
    conns: dict[int, Connection] = {}
    pending: dict[int, bool] = {}  # a turn open on the connection, its answer not begun
    with open(path) as lines:
        for line in lines:
            head, _, text = line.rstrip("\n").partition("\t")
            fields = head.split()
            at, number, way = float(fields[0]), int(fields[1]), fields[2]
            conn = conns.setdefault(number, Connection(number))
            if way == "open":
                conn.pid = int(fields[3])
                continue
            kinds = fields[4]
            if way == ">":
                if "=" in text and kinds.startswith("P"):
                    name, _, body = text.partition("=")
                    if name:
                        conn.prepared[name] = body
                statement = label(_resolve(conn, text), names or {})
                if pending.get(number) and conn.turns:  # still asking: the same turn
                    turn = conn.turns[-1]
                    turn.asked += kinds
                    turn.statement = turn.statement or statement
                else:
                    conn.turns.append(Turn(at, at, kinds, "", statement))
                    pending[number] = True
            else:
                if not pending.get(number) and (not conn.turns or set(kinds) <= {"A"}):
                    conn.notified.append(at)  # unasked: a notification
                    continue
                pending[number] = False
                turn = conn.turns[-1]
                turn.answer += kinds
                turn.answered = at
    return conns


def _resolve(conn: Connection, text: str) -> str:
    name, eq, body = text.partition("=")
    if not eq:
        return text
    return body or conn.prepared.get(name, name)


def label(text: str, names: dict[str, str]) -> str:
    """A statement's name in `names` (normalized text -> name): the one whose text it
    starts the same way as for longest; its own first words when none is close."""
    if not text:
        return ""
    best, length = "", 0
    for known, name in names.items():
        common = next((i for i, (a, b) in enumerate(zip(known, text, strict=False))
                       if a != b),
                      min(len(known), len(text)))
        if common > length:
            best, length = name, common
    return best if length >= min(len(text), 40) else text[:40]


def conveyor_names() -> dict[str, str]:
    """Conveyor's PostgreSQL statements, by their text as the log keeps it."""
    from conveyor.backends import sqlfile
    from conveyor.backends.postgres import blocking

    queries = sqlfile.load("conveyor.backends.postgres")
    named = {" ".join(text.split())[:TEXT]: name for name, text in queries.items()}
    named[" ".join(blocking.SESSION.split())] = "session settings"
    return named


# -- turns per stage ----------------------------------------------------------------------


@dataclasses.dataclass
class Stages:
    """Turns per stage over a run: a counter of the shapes each occurrence took, and the
    median milliseconds of each leg as the proxy saw them (its own reads, before delay)."""

    enqueue: collections.Counter[str]  # the producer's turns per enqueue
    woken: collections.Counter[str]  # a woken worker's turns from the wake to its claim's
    beside: collections.Counter[str]  # that worker's other turns in flight as it claimed
    legs: dict[str, float]

    def show(self, top: int = 4) -> None:
        for title, counter in (("enqueue (producer)", self.enqueue),
                               ("wake -> claim answered (the worker that got the job)",
                                self.woken),
                               ("its other turns in flight as the claim was sent", self.beside)):
            total = sum(counter.values())
            print(f"{title}: {total} occurrences")
            for shape, n in counter.most_common(top):
                print(f"  {n / total:6.1%}  {shape}")
        print("median ms: " + ", ".join(f"{leg} {ms:.2f}" for leg, ms in self.legs.items()))


def stages(conns: dict[int, Connection], producer: int, enqueue: str, claim: str) -> Stages:
    """Per enqueue on the producer's process (`producer`'s pid), its turns; per notification
    a worker heard, when its first `claim` after it returned rows (it got the job), that
    worker's turns from the notification up to that claim's answer."""
    by_pid: dict[int, list[Connection]] = collections.defaultdict(list)
    for conn in conns.values():
        by_pid[conn.pid].append(conn)
    enqueues: collections.Counter[str] = collections.Counter()
    legs: dict[str, list[float]] = collections.defaultdict(list)
    for conn in by_pid[producer]:
        for turns in _split(conn.turns, enqueue):
            enqueues[_shape(turns)] += 1
            legs["enqueue at the server"].append(turns[0].answered - turns[0].sent)
    woken: collections.Counter[str] = collections.Counter()
    beside: collections.Counter[str] = collections.Counter()
    for pid, own in by_pid.items():
        if pid == producer:
            continue
        turns = sorted((t for c in own for t in c.turns), key=lambda t: t.sent)
        for heard in sorted(at for c in own for at in c.notified):
            after = [t for t in turns if t.sent >= heard]
            first = next((i for i, t in enumerate(after) if t.statement == claim), None)
            if first is None or not after[first].rows:
                continue  # the other worker got the job
            sent = after[first]
            woken[_shape(after[:first + 1])] += 1
            beside[_shape([t for t in turns if t.sent < sent.sent < t.answered])] += 1
            legs["notified -> claim read"].append(sent.sent - heard)
            legs["claim at the server"].append(sent.answered - sent.sent)
    return Stages(enqueues, woken, beside,
                  {leg: statistics.median(ms) * 1000 for leg, ms in legs.items()})


def _split(turns: Iterable[Turn], marker: str) -> Iterator[list[Turn]]:
    """The turns from each `marker` statement's turn up to the next's (those before the
    first dropped: connecting, settings)."""
    group: list[Turn] | None = None
    for turn in turns:
        if turn.statement == marker:
            if group:
                yield group
            group = [turn]
        elif group is not None:
            group.append(turn)
    if group:
        yield group


def _shape(turns: Sequence[Turn]) -> str:
    """`n turn(s): statement[messages] + ...`"""
    if not turns:
        return "0 turns"
    return f"{len(turns)} turn(s): " + " + ".join(
        f"{turn.statement[:40] or '?'}[{_brief(turn.asked)}]" for turn in turns)


def _brief(asked: str) -> str:
    """A turn's messages, a long pipeline (`executemany`) cut short."""
    return asked if len(asked) <= 12 else f"{asked[:8]}...({len(asked)})"


def summary(conns: dict[int, Connection]) -> None:
    """Each connection: its process, turns, notifications, its statements by count."""
    for conn in conns.values():
        kinds = collections.Counter(t.statement or "?" for t in conn.turns)
        print(f"conn {conn.number} pid {conn.pid}: {len(conn.turns)} turns, "
              f"{len(conn.notified)} notifications: "
              + ", ".join(f"{n}x {s[:50]}" for s, n in kinds.most_common(6)))


def report(path: str | Path, floor: bool = False, conns_too: bool = False) -> Stages:
    """Turns per stage of a latency run's log (Conveyor's, or the raw floor's)."""
    conns = read(path, floor_names() if floor else conveyor_names())
    if conns_too:
        summary(conns)
    enqueue, claim = ("floor insert", "floor claim") if floor else ("insert_one", "claim_alone")
    producer = next((c.pid for c in conns.values()
                     if any(t.statement == enqueue for t in c.turns)), 0)
    return stages(conns, producer, enqueue, claim)


def run(url: str, delay_ms: float, seconds: float, into: Path) -> None:
    """Conveyor's latency run and the raw floor's through a logging proxy each; their turns
    per stage."""
    from bench import latency
    from bench.floor import latency as floor_latency

    for name, measure in (("conveyor", latency.measure), ("floor", floor_latency.measure)):
        path = into / f"{name}-{delay_ms:g}ms.log"
        with netdelay.proxied(url, delay_ms, log=str(path)) as via:
            got = measure(via, 100.0, seconds, 2)
        print(f"== {name} at {delay_ms:g} ms one-way, logged (slower than unlogged): "
              f"p50 {got.p50:.2f} ms, stages " +
              ", ".join(f"{stage} {ms:.2f}" for stage, ms in got.stages.items()) +
              f"; log {path}")
        report(path, floor=name == "floor").show()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", nargs="?", help="a log to read")
    parser.add_argument("--floor", action="store_true",
                        help="the log is of the raw floor's run (bench.floor.latency)")
    parser.add_argument("--url", help="instead: run both latency benchmarks through a "
                                      "logging proxy to this (emptied) database")
    parser.add_argument("--delay-ms", type=float, default=1.0)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--into", default=tempfile.gettempdir(),
                        help="where --url's logs are written (default: the temporary "
                             "directory, not the checkout)")
    args = parser.parse_args()
    if args.url:
        run(args.url, args.delay_ms, args.seconds, Path(args.into))
    elif args.path:
        report(args.path, floor=args.floor, conns_too=True).show()
    else:
        parser.error("give a log to read, or --url to run and log")


def floor_names() -> dict[str, str]:
    from bench.floor import latency, pg

    return {" ".join(pg.INSERT.split())[:TEXT]: "floor insert",
            " ".join(latency.CLAIM.split())[:TEXT]: "floor claim",
            " ".join(latency.MARK.split())[:TEXT]: "floor mark"}


if __name__ == "__main__":
    main()
