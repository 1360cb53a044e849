"""Bulk syncs, throttling and the nightly schedule, on both backends: 1,000 products with 5 %
refused by the shop end with the same exact counts in the batch, the status table and the
log; a storm of 429s slows the shop down without using attempts; the nightly check starts a
shop's full sync at 02:00 in the shop's time zone, once.

The bulk run has 1,000 products (10,000 under CONVEYOR_SOAK=1): many times the 64 syncs in
flight, 100 per priority, so ordering and counts are judged over many rounds, and, as 2,000
did, one chunk of the engine's batch insert (2,000 calls). 2,000 proved nothing more and took
twice as long (41 s on SQLite, 69 s on PostgreSQL, the suite's slowest test).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest

from conveyor import Conveyor, FrozenClock, JobFilter, JobState
from conveyor_commerce import Commerce
from conveyor_commerce.catalog.model import Shop, SyncStatus
from conveyor_commerce.sandbox.prestashop import PrestaShopSandbox
from tests.commerce.catalog.conftest import CATALOG, KEY, settle
from tests.commerce.conftest import TEST_SETTINGS, _truncate_commerce
from tests.conftest import FAST

SOAK = os.environ.get("CONVEYOR_SOAK") == "1"
PRODUCTS = 10_000 if SOAK else 1_000
REFUSED = PRODUCTS // 20
SYNCED = PRODUCTS - REFUSED


@pytest.mark.slow  # ~10 s on an idle 2-core machine per backend; a minute on a loaded one
@pytest.mark.timeout(900)
def test_bulk_products_with_5_percent_refused_end_with_exact_counts(
        catalog_kit: Commerce, shop: Shop, shop_server: PrestaShopSandbox) -> None:
    kit = catalog_kit
    top = kit.catalog.add_category("All")
    kit.catalog.add_products(
        {"reference": f"SKU-{n:05}", "name": f"Item {n}", "price": f"{n}.99",
         "category": top.id, "priority": 1 + n % 10} for n in range(PRODUCTS))
    refused = {f"SKU-{n:05}" for n in range(0, PRODUCTS, 20)}
    assert len(refused) == REFUSED
    shop_server.shop.reject(refused)
    batch = kit.catalog.bulk_sync("main")
    assert batch is not None and batch.progress.total == PRODUCTS
    jobs = kit.app.jobs(JobFilter(batch_ids=[batch.id], limit=10))
    assert jobs and all(j.state == JobState.PENDING for j in jobs)  # after their category
    settle(kit, timeout=850, concurrency=64)

    progress = kit.app.get_batch(batch.id).progress
    assert (progress.total, progress.completed, progress.failed, progress.cancelled) == \
        (PRODUCTS, SYNCED, REFUSED, 0)
    assert kit.catalog.counts("main") == {"pending": 0, "syncing": 0, "synced": SYNCED,
                                          "error": REFUSED, "conflict": 0}
    assert kit.catalog.log_counts("main") == {("create", "success"): SYNCED,
                                              ("create", "error"): REFUSED}
    failed = {r.label for r in kit.catalog.statuses("main", [SyncStatus.ERROR],
                                                    limit=REFUSED + 10)}
    assert failed == refused
    assert len(shop_server.shop.writes("products")) == SYNCED
    finale, catch = kit.catalog.log("main", entity="batch")  # no "then": failures
    assert (finale.status, finale.message) == (
        "error", f"finished: {SYNCED} synced, {REFUSED} failed, 0 cancelled of {PRODUCTS}")
    assert finale.entity_id == batch.id and f'"failed":{REFUSED}' in (finale.details or "")
    assert catch.message.startswith("a product failed") and catch.status == "error"
    # high priority first, in each queue (1-3 on the high-priority queue, 4-10 on the other)
    order = [1 + int(r.reference.split("-")[1]) % 10 for r in shop_server.shop.log()
             if r.resource == "products" and r.method == "POST"]
    mean = {p: sum(i for i, q in enumerate(order) if q == p) / order.count(p)
            for p in (1, 3, 4, 7, 10)}
    assert mean[1] < mean[3] and mean[4] < mean[7] < mean[10], mean


def test_a_429_storm_slows_the_shop_and_uses_no_attempt(
        catalog_kit: Commerce, shop: Shop, shop_server: PrestaShopSandbox) -> None:
    kit, state = catalog_kit, shop_server.shop
    top = kit.catalog.add_category("All")
    kit.catalog.sync_categories("main")
    settle(kit)
    kit.catalog.add_products({"reference": f"R-{n}", "name": f"Item {n}", "price": "5",
                              "category": top.id} for n in range(4))
    state.inject(429, times=6, retry_after=0.3)
    jobs = [kit.catalog.sync_product(f"R-{n}", "main") for n in range(4)]
    settle(kit, timeout=60)
    for job in jobs:
        done = kit.app.get(job.id)
        assert done.state == JobState.COMPLETED and done.attempt <= done.max_attempts
    assert all(row.retry_count == 0 for row in kit.catalog.statuses("main", entity="product"))
    assert kit.catalog.counts("main")["synced"] == 4
    log = [r for r in state.log() if r.resource == "products"]
    throttled = [r for r in log if r.status == 429]
    assert len(throttled) == 6
    written = [r for r in log if r.status in (200, 201)]
    assert written[0].at - throttled[0].at >= 0.3 - 0.02  # the shop rested after the 429


def test_the_nightly_check_starts_each_shop_at_2_local_once(
        url: str, shop_server: PrestaShopSandbox) -> None:
    _truncate_commerce(url)
    clock = FrozenClock(datetime(2026, 11, 30, 1, 5, tzinfo=UTC))  # 02:05 in Warsaw
    app = Conveyor(url, clock=clock, settings=FAST)
    kit = Commerce(app, settings=TEST_SETTINGS, catalog=CATALOG)
    try:
        kit.catalog.add_shop("warsaw", shop_server.url, KEY, timezone="Europe/Warsaw")
        kit.catalog.add_shop("lisbon", shop_server.url, KEY, timezone="Europe/Lisbon")
        kit.catalog.add_product("SKU-1", "Kettle", "20",
                                category=kit.catalog.add_category("All").id)
        check = kit.catalog.jobs.nightly_check
        first = check.enqueue()
        app.drain([CATALOG.queue])
        assert app.get(first.id).result == [1]  # Lisbon is at 01:05
        [batch] = app.batches()  # the nightly sync opened Warsaw's full sync
        assert batch.progress.total == 1 and batch.name.startswith("catalog sync: warsaw")
        again = check.enqueue()
        app.drain([CATALOG.queue])
        assert app.get(again.id).result == []  # once a night
        clock.advance(3600)  # 03:05 in Warsaw, 02:05 in Lisbon
        later = check.enqueue()
        app.drain([CATALOG.queue])
        assert app.get(later.id).result == [2]
        nightly = app.jobs(JobFilter(names=[kit.catalog.jobs.nightly_sync.name]))
        assert sorted(j.args[0] for j in nightly) == [1, 2]
    finally:
        kit.close()
        app.close()
