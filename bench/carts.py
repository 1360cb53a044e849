"""The expired-cart cleanup of many old carts, while reminders go out and the shop writes.

    python -m bench.carts --backends sqlite,postgres --carts 200000

For each backend: a fresh database, a WhatsApp sandbox on 127.0.0.1, `--carts` open carts
last changed 4 days ago (bulk-inserted), and `--abandoned` carts idle for 2 hours. Then, at
the same time: the cleanup (batches of 1,000, one transaction each); the scan and the
reminder jobs (run in this process, sent to the sandbox); and a writer creating and updating
carts as the shop's chat flow does. Printed: the cleanup's time, batches and carts/s; the
reminders sent while it ran; the writer's slowest and 99th-percentile write during it (the
lock a batch holds is what a write may wait for).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import statistics
import threading
import time
from collections.abc import Callable
from datetime import timedelta

import sqlalchemy as sa

from bench import databases
from conveyor import Conveyor
from conveyor_commerce import Commerce, CommerceSettings, tables
from conveyor_commerce.sandbox import SandboxServer

NUMBER, TOKEN = "106540352242922", "bench-token"
SETTINGS = CommerceSettings(min_lead=0, http_timeout=5.0, quiet_hours=None)
ITEMS = '[{"name": "Coffee", "quantity": 1, "price": "12.50"}]'
CHUNK = 10_000


@dataclasses.dataclass(frozen=True, slots=True)
class Figures:
    backend: str
    carts: int
    seconds: float
    batches: int
    reminders: int
    reminders_during: int
    writes: int
    write_max_ms: float
    write_p99_ms: float
    alone_p99_ms: float
    """The same writes before the cleanup, without it."""
    over_second: int
    """Writes during the cleanup that took more than 1 s."""

    def row(self) -> str:
        return (f"{self.backend:10s} {self.carts:>8d} {self.seconds:>8.2f} s {self.batches:>7d} "
                f"{self.carts / self.seconds:>9.0f}/s {self.reminders_during:>4d}/"
                f"{self.reminders:<4d} {self.writes:>6d} {self.write_max_ms:>8.1f} ms "
                f"{self.write_p99_ms:>8.1f} ms {self.alone_p99_ms:>8.1f} ms "
                f"{self.over_second:>6d}")


def fill(kit: Commerce, account_id: int, count: int, age: timedelta, prefix: str) -> None:
    """`count` open carts last changed `age` ago, inserted in chunks (setup, not measured)."""
    then = kit.now() - age
    expires = then + timedelta(seconds=kit.settings.cart_max_age)
    for start in range(0, count, CHUNK):
        rows = [{"account_id": account_id, "customer_phone": f"{prefix}{i:07d}",
                 "items": ITEMS, "total": "12.50", "currency": "PLN", "status": "active",
                 "expires_at": expires, "created_at": then, "updated_at": then}
                for i in range(start, min(count, start + CHUNK))]
        with kit.db.begin() as conn:
            conn.execute(sa.insert(tables.carts), rows)


def _writes(kit: Commerce, prefix: str, stop: Callable[[], bool],
            until: float) -> list[float]:
    """Seconds per write of cart create+update pairs, until `stop()` or `until`
    (time.monotonic())."""
    found, n = [], 0
    while not stop() and time.monotonic() < until:
        began = time.perf_counter()
        cart = kit.carts.create("shop", f"{prefix}{n:07d}", [
            {"name": "Tea", "quantity": 1, "price": "4.00"}], currency="PLN")
        kit.carts.update(cart.id, coupon_code="BENCH")
        found.append((time.perf_counter() - began) / 2)
        n += 1
    return found


def _p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98] if len(values) > 2 else max(values)


def run(url: str, backend: str, carts: int, abandoned: int) -> Figures:
    kit = Commerce(Conveyor(url), settings=SETTINGS)
    kit.migrate()
    with SandboxServer() as sandbox:
        sandbox.state.add_number(NUMBER, TOKEN)
        account = kit.accounts.add("shop", NUMBER, TOKEN, base_url=sandbox.url, send_rate=50)
        fill(kit, account.id, carts, timedelta(days=4), "4860")
        fill(kit, account.id, abandoned, timedelta(hours=2), "4870")
        assert kit.carts.scan()["abandoned"] == abandoned
        alone = _writes(kit, "4866", lambda: False, time.monotonic() + 2.0)
        done = threading.Event()
        result: dict[str, float] = {}
        during: list[float] = []

        def clean() -> None:
            began, wall = time.perf_counter(), time.time()
            found = kit.carts.cleanup()
            result.update(seconds=time.perf_counter() - began, batches=found["batches"],
                          carts=found["carts"], began=wall, ended=time.time())
            done.set()

        threads = [threading.Thread(target=clean), threading.Thread(
            target=lambda: during.extend(_writes(kit, "4869", done.is_set, math.inf)))]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 600
        while len(sandbox.state.sent_log()) < abandoned and time.monotonic() < deadline:
            kit.app.drain([kit.settings.queue])
        for thread in threads:
            thread.join()
        sent_at = [record.at for record in sandbox.state.sent_log()]
    kit.close()
    kit.app.close()
    flowing = sum(1 for t in sent_at if result["began"] <= t <= result["ended"])
    return Figures(backend, int(result["carts"]), result["seconds"], int(result["batches"]),
                   len(sent_at), flowing, len(during), max(during) * 1000,
                   _p99(during) * 1000, _p99(alone) * 1000, sum(1 for t in during if t > 1))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.carts", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--carts", type=int, default=200_000)
    parser.add_argument("--abandoned", type=int, default=200)
    args = parser.parse_args(argv)
    print(f"{'backend':10s} {'carts':>8s} {'cleanup':>10s} {'batches':>7s} {'rate':>11s} "
          f"{'reminders':>9s} {'writes':>6s} {'write max':>11s} {'write p99':>11s} "
          f"{'alone p99':>11s} {'> 1 s':>6s}")
    for backend in args.backends.split(","):
        with databases.temporary(backend.strip()) as url:
            print(run(url, backend.strip(), args.carts, args.abandoned).row(), flush=True)
    print("reminders: sent while the cleanup ran / sent in all; writes: cart create+update "
          "pairs during the cleanup, time per write; alone: the same writes without it")


if __name__ == "__main__":
    main()
