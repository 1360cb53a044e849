"""Scheduled-message throughput at an account's configured rate, against the WhatsApp sandbox.

    python -m bench.messages --backends sqlite,postgres --rates 10,80 --seconds 10

For each backend and rate: a fresh database, a sandbox on 127.0.0.1 (the number's throughput
80/s, as Meta's default), one account at that send rate, and `rate x seconds` messages due at
the same moment, sent by 2 worker processes (`conveyor worker`). Measured at the sandbox, as
Meta would see it: the achieved rate from the first to the last received send, how close
that comes to the configured rate, the busiest 1-second window, and how late the first send
was after its time. The kit spaces an account's sends 1.1/rate apart (a 10 % margin that
absorbs jitter), so about 91 % is the most a run can show.
"""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

from bench import databases, workers
from conveyor import Conveyor
from conveyor_commerce import Commerce, CommerceSettings, MessageFilter, MessageStatus
from conveyor_commerce.sandbox import SandboxServer

NUMBER, TOKEN = "106540352242922", "bench-token"
SETTINGS = CommerceSettings(min_lead=0, http_timeout=5.0)


@dataclasses.dataclass(frozen=True, slots=True)
class Figures:
    backend: str
    rate: float
    messages: int
    achieved: float
    busiest: int
    first_late: float
    throttled: int
    """Sends the sandbox refused with 130429 (the number's 80/s throughput exceeded)."""

    def row(self) -> str:
        return (f"{self.backend:10s} {self.rate:>6g}/s {self.messages:>7d} "
                f"{self.achieved:>9.2f}/s {self.achieved / self.rate:>7.1%} "
                f"{self.busiest:>8d} {self.first_late * 1000:>9.0f} ms {self.throttled:>9d}")


def busiest_window(times: list[float]) -> int:
    times, best, start = sorted(times), 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


def run(url: str, backend: str, rate: float, seconds: float, processes: int,
        concurrency: int) -> Figures:
    kit = Commerce(Conveyor(url), settings=SETTINGS)
    kit.migrate()
    count = int(rate * seconds)
    with SandboxServer() as sandbox:
        sandbox.state.add_number(NUMBER, TOKEN, throughput=80)
        kit.accounts.add("bench", NUMBER, TOKEN, base_url=sandbox.url, send_rate=rate,
                         throughput=80)
        command = [sys.executable, "-m", "conveyor", "--app", "bench.messages_app:app",
                   "worker", "--queues", "whatsapp", "--concurrency", str(concurrency)]
        procs = [subprocess.Popen(command, cwd=workers.ROOT, env=workers.environment(url),
                                  stderr=subprocess.DEVNULL) for _ in range(processes)]
        try:
            kit.messages.schedule("bench", "48600999999", "warm-up", offset=0)
            _wait(kit, 1, 60)
            due = datetime.now(UTC) + timedelta(seconds=2)
            kit.messages.schedule_many("bench", ((f"48600{i:06d}", f"message {i}")
                                                 for i in range(count)), at=due)
            _wait(kit, count + 1, seconds * 3 + 60)
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(timeout=60)
        received = [r.at for r in sandbox.state.sent_log() if r.to != "48600999999"]
        throttled = sandbox.state.refused[130429]
    kit.close()
    kit.app.close()
    span = max(received) - min(received)
    return Figures(backend, rate, count, (len(received) - 1) / span if span else 0.0,
                   busiest_window(received), min(received) - due.timestamp(), throttled)


def _wait(kit: Commerce, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    sent = MessageFilter(statuses=[MessageStatus.SENT])
    while kit.messages.count(sent) < count:
        if time.monotonic() > deadline:
            raise SystemExit(f"only {kit.messages.count(sent)} of {count} messages sent")
        time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--rates", default="10,80", help="Configured send rates, messages/s.")
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="Each run schedules rate x seconds messages.")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--pg-server", default=databases.PG_SERVER)
    args = parser.parse_args()
    print(f"{'backend':10s} {'rate':>8s} {'messages':>7s} {'achieved':>11s} {'of rate':>7s} "
          f"{'busiest':>8s} {'first late':>12s} {'130429s':>9s}")
    for backend in args.backends.split(","):
        for rate in (float(r) for r in args.rates.split(",")):
            with databases.temporary(backend, args.pg_server) as url:
                print(run(url, backend, rate, args.seconds, args.processes,
                          args.concurrency).row(), flush=True)


if __name__ == "__main__":
    main()
