"""The Quick start demo: sample shop jobs on SQLite, seeded and run by two worker processes,
watched in the web dashboard.

Run `python examples/demo.py` (the README's first command does it for you). It enqueues a
mix of jobs - quick ones, delayed ones, a flaky one that succeeds on retry, a bad one that ends
discarded - serves the dashboard on http://127.0.0.1:8000 (`CONVEYOR_DEMO_PORT`; login
`admin` with `$CONVEYOR_DASHBOARD_PASSWORD`, default `demo`), then starts
`conveyor worker --processes 2` until you press Ctrl-C.
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
from pathlib import Path

from conveyor import Conveyor, Snooze, web

DB = Path(os.environ.get("CONVEYOR_DEMO_DB", "demo.db")).resolve()
app = Conveyor(f"sqlite:///{DB}")


@app.job(name="sync_product", queue="sync", max_attempts=3, backoff=[2, 5])
async def sync_product(product_id: int, shop_id: int) -> dict[str, int]:
    """Pretend to push one product to a shop; every seventh product fails once."""
    await asyncio.sleep(random.uniform(0.01, 0.05))
    if product_id % 7 == 0 and random.random() < 0.5:
        raise ConnectionError(f"shop {shop_id} timed out")
    return {"product_id": product_id, "shop_id": shop_id}


@app.job(name="send_reminder", queue="messages", priority=1)
def send_reminder(cart_id: int, phone: str) -> str:
    """A plain `def` job (runs in the thread pool); snoozes carts that look still active."""
    if cart_id % 10 == 0 and random.random() < 0.5:
        raise Snooze(3)
    return f"reminded {phone} about cart {cart_id}"


@app.job(name="cleanup_carts")
def cleanup_carts(older_than_hours: int = 24) -> int:
    return random.randint(0, 50)


@app.job(name="sync_report")
def sync_report(label: str) -> str:
    """The batch's on_complete callback."""
    return f"{label}: done"


@app.job(name="sync_category", queue="sync")
async def sync_category(category: str) -> str:
    await asyncio.sleep(0.02)
    return category


# Every minute (the leader of the worker processes fires it, once per slot).
app.cron("* * * * *", cleanup_carts, kwargs={"older_than_hours": 1}, name="cleanup-carts")


def seed() -> None:
    batch = app.batch((sync_product.s(p, 1) for p in range(1, 101)), name="Catalog sync",
                      allow_failures=True, on_complete=sync_report.s("catalog"))
    send_reminder.enqueue_many([((c, f"+4860000{c:04d}"), {}) for c in range(1, 31)])
    cleanup_carts.options(delay=5).enqueue(older_than_hours=2)
    app.chain(sync_category.s("Home"), sync_category.s("Home/Garden"),
              sync_category.s("Home/Garden/Tools"))
    print(f"seeded 135 jobs into {DB} (batch {batch.id}: `conveyor batches`)", flush=True)


def start_dashboard() -> web.Running:
    password = os.environ.get("CONVEYOR_DASHBOARD_PASSWORD", "demo")
    config = web.DashboardConfig(users=(web.Account.with_password("admin", password),))
    running = web.start(app, port=int(os.environ.get("CONVEYOR_DEMO_PORT", "8000")),
                        config=config)
    print(f"dashboard: {running.url}/  (login: admin / {password})", flush=True)
    return running


def main() -> None:
    seed()
    dashboard = start_dashboard()
    command = [sys.executable, "-m", "conveyor", "--app", "examples.demo:app",
               "worker", "--queues", "messages,sync,default", "--processes", "2"]
    print("running:", " ".join(command[1:]), "(Ctrl-C to stop)", flush=True)
    root = Path(__file__).resolve().parent.parent
    try:
        raise SystemExit(subprocess.call(command, cwd=root))
    except KeyboardInterrupt:
        pass
    finally:
        dashboard.stop()
        app.close()


if __name__ == "__main__":
    main()
