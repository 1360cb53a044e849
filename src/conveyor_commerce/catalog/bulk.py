"""Whole-catalogue syncs: the batch of one shop's products (high, then normal, then low
priority; failures allowed; progress in `app.get_batch`), its then/catch/finally callbacks
that write summary rows to the sync log, and the nightly check that starts each shop's full
sync at 02:00 in the shop's own time zone."""

from __future__ import annotations

import zoneinfo
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from conveyor import current_job
from conveyor_commerce.catalog import store

if TYPE_CHECKING:
    from conveyor_commerce.kit import Commerce

NIGHT_WINDOW = timedelta(minutes=15)
"""The nightly check runs every 15 minutes; a shop starts in the quarter hour after 02:00."""


async def run(kit: Commerce, shop_id: int, products: list[int] | None) -> dict[str, Any]:
    """The body of `bulk_sync` / `nightly_sync`: open the batch (from a worker thread, as
    the catalog's Python API blocks)."""
    batch = await kit.in_thread(lambda: kit.catalog.bulk_sync(shop_id, products))
    return {"batch_id": batch.id if batch else None,
            "products": batch.progress.total if batch else 0}


async def summary(kit: Commerce, shop_id: int, outcome: str) -> dict[str, Any]:
    """A batch callback (`outcome`: success = then, failure = catch, complete = finally):
    one row in the sync log with the batch's counts."""
    batch_id = int(current_job().job.meta["batch_id"])
    batch = await kit.app.aget_batch(batch_id)
    progress = batch.progress
    counts = {"total": progress.total, "completed": progress.completed,
              "failed": progress.failed, "cancelled": progress.cancelled}
    if outcome == "success":
        status, message = "success", f"all {progress.total} products synced"
    elif outcome == "failure":
        status, message = "error", (f"a product failed ({progress.failed} so far); the "
                                    "batch goes on")
    else:
        status = "success" if progress.failed == progress.cancelled == 0 else "error"
        message = (f"finished: {progress.completed} synced, {progress.failed} failed, "
                   f"{progress.cancelled} cancelled of {progress.total}")

    def write() -> None:
        with kit.ready().begin() as conn:
            store.log(conn, "batch", batch_id, shop_id, "bulk", status, kit.now(),
                      message=message, details={"outcome": outcome, **counts},
                      job_id=current_job().job.id)

    await kit.in_thread(write)
    return {"outcome": outcome, **counts}


async def nightly_check(kit: Commerce) -> list[int]:
    """Start the full sync of every shop whose local time is 02:00-02:14 (once a night: the
    `nightly_sync` job is unique per shop and local date)."""
    now, hour = kit.now(), kit.catalog.settings.nightly_at
    started = []
    for shop in await kit.in_thread(kit.catalog.shops.list):
        local = now.astimezone(zoneinfo.ZoneInfo(shop.timezone))
        night = local.replace(hour=hour, minute=0, second=0, microsecond=0)
        if night <= local < night + NIGHT_WINDOW:
            job = await kit.catalog.jobs.nightly_sync.aenqueue(shop.id, night.date().isoformat())
            if not job.duplicate:
                started.append(shop.id)
    return started
