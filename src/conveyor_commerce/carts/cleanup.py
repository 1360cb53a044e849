"""The expired-cart cleanup: open carts past `expires_at` are expired (or deleted) in batches
of `cart_batch` (1,000), each its own short transaction, so a million old carts never hold a
long lock and the reminders and the shop's writes go on between batches. Each run's counts
are logged and kept in `commerce_cart_cleanups` (and are the job's result)."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from conveyor_commerce import tables
from conveyor_commerce.carts import store

if TYPE_CHECKING:
    from conveyor_commerce.kit import Commerce

log = logging.getLogger("conveyor_commerce.carts")
SQLITE_PAUSE = 0.1
"""SQLite's busy handler retries a waiting writer at most 100 ms apart, so a free window
this long between two batches lets every waiting writer in."""


def run(kit: Commerce) -> dict[str, Any]:
    db, settings = kit.ready(), kit.settings
    mode, size = settings.cart_cleanup_mode, settings.cart_batch
    started, clock = kit.now(), time.perf_counter()
    cutoff = started
    carts = batches = 0
    while True:
        with db.begin() as conn:
            changed = store.expire_batch(conn, cutoff, size, delete=mode == "delete",
                                         skip_locked=db.dialect == "postgresql")
        if not changed:
            break
        carts, batches = carts + changed, batches + 1
        if changed < size:
            break
        if db.dialect == "sqlite":  # one writer at a time: let the waiting ones in
            time.sleep(SQLITE_PAUSE)
    seconds = round(time.perf_counter() - clock, 3)
    result = {"mode": mode, "carts": carts, "batches": batches, "seconds": seconds,
              "cutoff": cutoff.isoformat()}
    with db.begin() as conn:
        conn.execute(sa.insert(tables.cart_cleanups).values(
            mode=mode, cutoff=cutoff, carts=carts, batches=batches, seconds=seconds,
            started_at=started, finished_at=kit.now()))
    log.info("cart cleanup: %d carts %s in %d batches (%.3f s)", carts,
             "deleted" if mode == "delete" else "expired", batches, seconds)
    return result
