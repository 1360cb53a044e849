"""The catalog's Conveyor jobs, declared on the kit's application.

- `sync_product(product_id, shop_id, force=False)`: unique per (product, shop) while it waits
  (`unique_for` 1 h); 3 attempts spaced 30 s / 60 s (/ 300 s); stopped after 10 minutes; no
  retry after 24 hours (`retry_until`, set per enqueue). Priority 1-3 products go to the
  high-priority queue. `sync_product_in_batch` is the same work for bulk syncs: a batch
  counts every job it was given, so its members are not unique (a sync already running for
  the product makes the batch's wait its turn on the status row instead).
- `sync_category(category_id, shop_id)`: enqueued parents first, each depending on its
  parent's job.
- `sync_stock(product_id, shop_id)`: the quick path (high-priority queue, short timeout).
- `bulk_sync(shop_id, products=None)`, `nightly_sync(shop_id, night)` and the batch summary
  callback; crons: the nightly check (every 15 minutes, each shop at 02:00 in its time zone)
  and "retry failed syncs" every 6 hours.

Every sync job shares its shop's limit key `ps:<shop id>`: at most `shop_concurrency` in
flight and the shop's own rate (`Shop.rate_limit`, read at enqueue). Key functions take
keywords, so they work however the engine binds the job's arguments.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from conveyor import Concurrency, Job, JobState, Rate
from conveyor.registry import JobType
from conveyor_commerce.catalog import bulk, syncing
from conveyor_commerce.catalog.shops import shop_key

if TYPE_CHECKING:
    from conveyor_commerce.kit import Commerce

PREFIX = "conveyor_commerce.catalog."
WAITING = [JobState.PENDING, JobState.SCHEDULED, JobState.AVAILABLE, JobState.RETRYABLE]


@dataclasses.dataclass(frozen=True, slots=True)
class CatalogJobs:
    sync_product: JobType[Any, Any]
    sync_product_in_batch: JobType[Any, Any]
    sync_category: JobType[Any, Any]
    sync_stock: JobType[Any, Any]
    bulk_sync: JobType[Any, Any]
    nightly_sync: JobType[Any, Any]
    summary: JobType[Any, Any]
    nightly_check: JobType[Any, Any]
    retry_failed: JobType[Any, Any]


def _pair(product_id: int = 0, shop_id: int = 0, **_: Any) -> str:
    return f"{product_id}:{shop_id}"


def _category_pair(category_id: int = 0, shop_id: int = 0, **_: Any) -> str:
    return f"{category_id}:{shop_id}"


def _night(shop_id: int = 0, night: str = "", **_: Any) -> str:
    return f"{shop_id}:{night}"


def _shop_key(shop_id: int = 0, **_: Any) -> str:
    return shop_key(shop_id)


def declare(kit: Commerce) -> CatalogJobs:
    app, settings = kit.app, kit.catalog.settings

    def rate(shop_id: int = 0, **_: Any) -> str:
        return kit.catalog.shops.rate_of(shop_id)

    limits = [Rate(rate, key=_shop_key), Concurrency(settings.shop_concurrency, key=_shop_key)]
    common: dict[str, Any] = {"queue": settings.queue, "max_attempts": settings.max_attempts,
                              "backoff": list(settings.backoff), "timeout": settings.timeout,
                              "limits": limits}

    def on_discard(entity: str, operation: str) -> Any:
        def hook(job: Job, error: BaseException | None) -> None:
            syncing.final_failure(kit, entity, operation, job, error)
        return hook

    async def sync_product(product_id: int, shop_id: int, force: bool = False) -> Any:
        return await syncing.sync_product(kit, product_id, shop_id, force)

    async def sync_category(category_id: int, shop_id: int) -> Any:
        return await syncing.sync_category(kit, category_id, shop_id)

    async def sync_stock(product_id: int, shop_id: int) -> Any:
        return await syncing.sync_stock(kit, product_id, shop_id)

    async def bulk_sync(shop_id: int, products: list[int] | None = None) -> Any:
        return await bulk.run(kit, shop_id, products)

    async def nightly_sync(shop_id: int, night: str) -> Any:
        return await bulk.run(kit, shop_id, None)

    async def summary(shop_id: int, outcome: str) -> Any:
        return await bulk.summary(kit, shop_id, outcome)

    async def nightly_check() -> Any:
        return await bulk.nightly_check(kit)

    async def retry_failed() -> Any:
        return await kit.in_thread(kit.catalog.retry_failed)

    product_discard = on_discard("product", "update")
    declared = CatalogJobs(
        sync_product=app.job(name=PREFIX + "sync_product", unique_for=settings.unique_for,
                             unique_key=_pair, unique_states=WAITING,
                             on_discard=product_discard, **common)(sync_product),
        sync_product_in_batch=app.job(name=PREFIX + "sync_product_in_batch",
                                      on_discard=product_discard, **common)(sync_product),
        sync_category=app.job(name=PREFIX + "sync_category", unique_key=_category_pair,
                              unique_states=[*WAITING, JobState.RUNNING],
                              on_discard=on_discard("category", "create"),
                              **common)(sync_category),
        sync_stock=app.job(name=PREFIX + "sync_stock", unique_key=_pair,
                           unique_states=WAITING, on_discard=on_discard("product", "stock"),
                           **{**common, "queue": settings.high_queue, "timeout": 60.0,
                              "backoff": [5.0, 30.0]})(sync_stock),
        bulk_sync=app.job(name=PREFIX + "bulk_sync", queue=settings.queue, max_attempts=3,
                          backoff=[10.0, 60.0])(bulk_sync),
        nightly_sync=app.job(name=PREFIX + "nightly_sync", queue=settings.queue,
                             max_attempts=3, backoff=[60.0, 300.0], unique_key=_night,
                             unique_states=list(JobState))(nightly_sync),
        summary=app.job(name=PREFIX + "bulk_summary", queue=settings.queue,
                        max_attempts=5, backoff=[5.0, 30.0])(summary),
        nightly_check=app.job(name=PREFIX + "nightly_check", queue=settings.queue,
                              max_attempts=1)(nightly_check),
        retry_failed=app.job(name=PREFIX + "retry_failed", queue=settings.queue,
                             max_attempts=1)(retry_failed),
    )
    if settings.nightly_cron:
        app.cron(settings.nightly_cron, declared.nightly_check, name=PREFIX + "nightly_check")
    if settings.retry_cron:
        app.cron(settings.retry_cron, declared.retry_failed, name=PREFIX + "retry_failed")
    return declared
