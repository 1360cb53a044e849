"""The Quick start demo: Conveyor and its commerce kit at work on sample data, watched in the
dashboard.

Run `python examples/demo.py` (the README's first command does it for you). It starts the
WhatsApp and PrestaShop sandboxes, the kit's status webhook, sample data for each system
(messages, carts, a campaign, a catalog sync), the dashboard on http://127.0.0.1:8000
(`CONVEYOR_DEMO_PORT`; login `admin` / `$CONVEYOR_DASHBOARD_PASSWORD`, default `demo`) and two
worker processes, until Ctrl-C (see `conveyor_commerce.demo`).

The database is `demo.db` (`CONVEYOR_DEMO_DB`), or `$CONVEYOR_URL` (e.g. PostgreSQL), made
afresh at each start. Besides the kit's jobs, the workers run the few plain jobs below: a
batch with a flaky step, a chain, a job that ends discarded, and a cron schedule.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
from pathlib import Path

from conveyor import Conveyor, Discard, current_job
from conveyor_commerce import CatalogSettings, Commerce, CommerceSettings

ROOT = Path(__file__).resolve().parent.parent
URL = os.environ.get("CONVEYOR_URL") or \
    f"sqlite:///{Path(os.environ.get('CONVEYOR_DEMO_DB', 'demo.db')).resolve()}"
app = Conveyor(URL)
logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per API call is too many here
commerce = Commerce(app, settings=CommerceSettings(
    min_lead=0, backoff=(3, 10, 30), ambiguous_grace=10, http_timeout=10,  # quick messages
    cart_abandon_after=20, cart_scan_cron="* * * * *", quiet_hours=None,   # quick reminders
), catalog=CatalogSettings(backoff=(5, 15, 60)))                           # quick sync retries


@app.job(name="demo.resize_image", queue="media", max_attempts=3, backoff=[2, 5])
async def resize_image(image_id: int) -> dict[str, int]:
    """Every seventh image fails its first attempt (a flaky store), then succeeds on retry."""
    await asyncio.sleep(random.uniform(0.01, 0.05))
    if image_id % 7 == 0 and current_job().job.attempt == 1:
        raise ConnectionError(f"image store timed out on image {image_id}")
    return {"image_id": image_id, "width": 800}


@app.job(name="demo.gallery_ready", queue="media")
def gallery_ready(label: str) -> str:
    """The batch's on_complete callback."""
    return f"{label}: done"


@app.job(name="demo.import_row", queue="media", max_attempts=1)
def import_row(row: int) -> str:
    if row < 0:
        raise Discard(f"row {row}: a negative row number is a bad input; nothing to retry")
    return f"row {row} imported"


@app.job(name="demo.tidy_tmp")
def tidy_tmp(older_than_hours: int = 24) -> int:
    return random.randint(0, 50)


app.cron("* * * * *", tidy_tmp, kwargs={"older_than_hours": 1}, name="demo.tidy-tmp")


def seed_jobs() -> str:
    """A round of plain jobs beside the kit's."""
    app.batch((resize_image.s(i) for i in range(1, 61)), name="Gallery thumbnails",
              allow_failures=True, on_complete=gallery_ready.s("gallery"))
    app.chain(import_row.s(1), import_row.s(2), import_row.s(3))
    import_row.options(delay=5).enqueue(-1)
    return "plain jobs         a batch of 60 thumbnails, a chain of 3 rows, 1 bad input"


def main() -> None:
    from conveyor_commerce.demo import DemoSpec, run

    password = os.environ.get("CONVEYOR_DASHBOARD_PASSWORD", "demo")
    port = os.environ.get("CONVEYOR_DEMO_PORT", "8000")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise SystemExit(f"CONVEYOR_DEMO_PORT={port!r}: give a port number (1-65535)")
    raise SystemExit(run(DemoSpec(app, commerce, "examples.demo:app", ROOT, seed_jobs,
                                  port=int(port), password=password)))


if __name__ == "__main__":
    main()
