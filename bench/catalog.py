"""Catalog sync throughput: products synced per second to one PrestaShop shop (the sandbox,
answering every request 20 ms late), at 4, 16 and 64 syncs in flight per shop.

    python -m bench.catalog --backends sqlite,postgres --concurrency 4,16,64 --products 400

For each backend and concurrency: a fresh database, the sandbox shop on 127.0.0.1 in this
process, 2 worker processes (`conveyor worker`, each with as many slots as the shop allows),
and `--products` new products in one category, synced as one bulk batch after a warm-up
product. Each new product costs the shop two requests (find by reference, then create).
Measured: the shop's view (creates per second from its first to its last, and how many were
in flight at once at most) and the end-to-end rate (batch opened to every status `synced`).
The ceiling at concurrency C is about C / (2 x 20 ms) products/s.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import subprocess
import sys
import time

from bench import databases, workers
from conveyor import Conveyor
from conveyor_commerce import Commerce
from conveyor_commerce.catalog.model import CatalogSettings
from conveyor_commerce.sandbox.prestashop import DEFAULT_KEY, PrestaShopSandbox

LATENCY = 0.020


@dataclasses.dataclass(frozen=True, slots=True)
class Figures:
    backend: str
    concurrency: int
    products: int
    at_shop: float
    end_to_end: float
    ceiling: float

    def row(self) -> str:
        return (f"{self.backend:10s} {self.concurrency:>5d} {self.products:>8d} "
                f"{self.at_shop:>10.1f}/s {self.end_to_end:>10.1f}/s {self.ceiling:>9.0f}/s "
                f"{self.end_to_end / self.ceiling:>7.1%}")


def run(url: str, backend: str, concurrency: int, products: int, processes: int) -> Figures:
    settings = CatalogSettings(shop_concurrency=concurrency, nightly_cron=None,
                               retry_cron=None)
    kit = Commerce(Conveyor(url), catalog=settings)
    kit.migrate()
    env = {**workers.environment(url), "CATALOG_BENCH_CONCURRENCY": str(concurrency)}
    command = [sys.executable, "-m", "conveyor", "--app", "bench.catalog_app:app", "worker",
               "--queues", f"{settings.queue},{settings.high_queue}",
               "--concurrency", str(max(8, concurrency))]
    with PrestaShopSandbox() as sandbox:
        sandbox.shop.latency = LATENCY
        kit.catalog.add_shop("bench", sandbox.url, DEFAULT_KEY, rate_limit="100000/s")
        top = kit.catalog.add_category("Bench")
        kit.catalog.add_products({"reference": f"B-{n}", "name": f"Bench item {n}",
                                  "price": "9.99", "category": top.id}
                                 for n in range(products + 1))
        procs = [subprocess.Popen(command, cwd=workers.ROOT, env=env,
                                  stderr=subprocess.DEVNULL) for _ in range(processes)]
        try:
            kit.catalog.sync_product("B-0", "bench")  # warm-up: workers up, category synced
            _wait(kit, 1, 120)
            started = time.monotonic()
            kit.catalog.bulk_sync("bench", list(range(2, products + 2)))
            _wait(kit, products + 1, products / 2 + 120)
            elapsed = time.monotonic() - started
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(timeout=60)
        creates = [r.at for r in sandbox.shop.writes("products")][1:]
    kit.close()
    kit.app.close()
    span = max(creates) - min(creates)
    return Figures(backend, concurrency, products, (len(creates) - 1) / span if span else 0.0,
                   products / elapsed, concurrency / (2 * LATENCY))


def _wait(kit: Commerce, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while (done := kit.catalog.counts("bench")["synced"]) < count:
        if time.monotonic() > deadline:
            raise SystemExit(f"only {done} of {count} products synced: "
                             f"{kit.catalog.counts('bench')}")
        time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--concurrency", default="4,16,64", help="Syncs in flight per shop.")
    parser.add_argument("--products", type=int, default=400)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--pg-server", default=databases.PG_SERVER)
    args = parser.parse_args()
    print(f"sandbox latency {LATENCY * 1000:.0f} ms per request; {os.cpu_count()} CPUs; "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'backend':10s} {'conc':>5s} {'products':>8s} {'at shop':>12s} {'end to end':>12s} "
          f"{'ceiling':>11s} {'of ceil':>7s}")
    for backend in args.backends.split(","):
        for concurrency in (int(c) for c in args.concurrency.split(",")):
            with databases.temporary(backend, args.pg_server) as url:
                print(run(url, backend, concurrency, args.products, args.processes).row(),
                      flush=True)


if __name__ == "__main__":
    main()
