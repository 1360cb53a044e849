"""`commerce.catalog`: the Python API of catalog sync - shops, categories, products, asking
for syncs (one product, a category tree, stock, a whole shop), and reading the sync status
and log. Everything here blocks on the database; async jobs call it from a worker thread.

    catalog = commerce.catalog
    shop = catalog.add_shop("main", "https://shop.example", key="32-char key")
    shoes = catalog.add_category("Shoes")
    boots = catalog.add_category("Boots", parent=shoes.id)
    catalog.add_product("SKU-1", "Hiking boot", "129.90", category=boots.id, stock=4)
    catalog.sync_product("SKU-1", "main")        # its categories first, then the product
    batch = catalog.bulk_sync("main")            # every product, high priority first
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import httpx
import sqlalchemy as sa

from conveyor import Batch, Job
from conveyor_commerce.catalog import store
from conveyor_commerce.catalog.model import (
    CatalogSettings,
    Category,
    LogEntry,
    Priority,
    Product,
    Shop,
    SyncRow,
    SyncStatus,
)
from conveyor_commerce.catalog.shops import Shops
from conveyor_commerce.errors import InvalidCatalog
from conveyor_commerce.prestashop import client
from conveyor_commerce.tables import products as P
from conveyor_commerce.tables import sync_status as T

if TYPE_CHECKING:
    from conveyor_commerce.catalog.jobs import CatalogJobs
    from conveyor_commerce.kit import Commerce


class Catalog:
    def __init__(self, kit: Commerce, settings: CatalogSettings | None = None) -> None:
        self.kit = kit
        self.settings = settings or CatalogSettings()
        self.shops = Shops(kit)
        self._http: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = \
            weakref.WeakKeyDictionary()
        self._jobs: CatalogJobs | None = None

    @property
    def jobs(self) -> CatalogJobs:
        if self._jobs is None:
            from conveyor_commerce.catalog import jobs

            self._jobs = jobs.declare(self.kit)
        return self._jobs

    def http(self) -> httpx.AsyncClient:
        """The HTTP client of the running event loop, for the shops' Webservices."""
        loop = asyncio.get_running_loop()
        found = self._http.get(loop)
        if found is None:
            found = httpx.AsyncClient(timeout=client.timeouts(self.settings.http_timeout),
                                      limits=httpx.Limits(max_connections=200,
                                                          max_keepalive_connections=100))
            self._http[loop] = found
        return found

    # -- the local catalogue -----------------------------------------------------------

    def add_shop(self, name: str, base_url: str, key: Any, **options: Any) -> Shop:
        """See `Shops.add` (timezone, rate_limit, id_shop, language_id)."""
        return self.shops.add(name, base_url, key, **options)

    def add_category(self, name: str, parent: int | None = None, *,
                     active: bool = True) -> Category:
        with self.kit.ready().begin() as conn:
            new_id = store.insert_category(conn, name, parent, self.kit.now(), active)
            return store.category(conn, new_id)

    def category(self, category_id: int) -> Category:
        with self.kit.ready().begin() as conn:
            return store.category(conn, category_id)

    def categories(self) -> list[Category]:
        with self.kit.ready().begin() as conn:
            return list(store.categories(conn).values())

    def add_product(self, reference: str, name: str, price: Any, *, category: int,
                    stock: int = 0, priority: int = 5, active: bool = True) -> Product:
        self.add_products([{"reference": reference, "name": name, "price": price,
                            "category": category, "stock": stock, "priority": priority,
                            "active": active}])
        return self.product(reference)

    def add_products(self, items: Iterable[Mapping[str, Any]]) -> int:
        """Add many products in one transaction: all are checked first, so one bad item
        (named by its position) stores none."""
        now, rows = self.kit.now(), []
        for index, item in enumerate(items):
            try:
                reference, name, price = store.check_product(
                    item.get("reference"), item.get("name"), item.get("price"),
                    item.get("stock", 0), item.get("priority", 5))
            except InvalidCatalog as exc:
                raise InvalidCatalog(f"product {index}: {exc}") from None
            rows.append({"reference": reference, "name": name, "price": price,
                         "stock": item.get("stock", 0), "category_id": item.get("category"),
                         "priority": item.get("priority", 5),
                         "active": int(bool(item.get("active", True))),
                         "created_at": now, "updated_at": now})
        if not rows:
            return 0
        with self.kit.ready().begin() as conn:
            known = set(store.categories(conn))
            for index, row in enumerate(rows):
                if row["category_id"] not in known:
                    raise InvalidCatalog(f"product {index} ({row['reference']!r}): no category "
                                         f"{row['category_id']!r}")
            taken = {r[0] for r in conn.execute(sa.select(P.c.reference).where(
                P.c.reference.in_([row["reference"] for row in rows])))}
            if taken or len({row["reference"] for row in rows}) < len(rows):
                raise InvalidCatalog(f"references already used: {sorted(taken)[:5] or 'twice'}")
            for start in range(0, len(rows), 1000):
                conn.execute(sa.insert(P), rows[start:start + 1000])
        return len(rows)

    def update_product(self, product: int | str, **changes: Any) -> Product:
        """Change `name`, `price`, `stock`, `category`, `priority` or `active` (then sync)."""
        allowed = {"name", "price", "stock", "category", "priority", "active"}
        if set(changes) - allowed:
            raise InvalidCatalog(f"cannot change {sorted(set(changes) - allowed)}; "
                                 f"changeable: {sorted(allowed)}")
        current = self.product(product)
        merged = {"name": current.name, "price": current.price, "stock": current.stock,
                  "priority": current.priority, **changes}
        _, name, price = store.check_product(current.reference, merged["name"],
                                             merged["price"], merged["stock"],
                                             merged["priority"])
        values = {"name": name, "price": price, "stock": merged["stock"],
                  "priority": merged["priority"], "updated_at": self.kit.now()}
        if "active" in changes:
            values["active"] = int(bool(changes["active"]))
        with self.kit.ready().begin() as conn:
            if "category" in changes:
                values["category_id"] = store.category(conn, changes["category"]).id
            conn.execute(sa.update(P).where(P.c.id == current.id).values(**values))
        return self.product(current.id)

    def product(self, product: int | str) -> Product:
        with self.kit.ready().begin() as conn:
            return store.product(conn, product)

    # -- asking for syncs -------------------------------------------------------------------

    def sync_product(self, product: int | str, shop: int | str, *,
                     force: bool = False) -> Job:
        """Sync one product (its categories first when the shop lacks them); a request for
        a product whose sync already waits joins it. `force` overwrites a conflict."""
        found, target = self.product(product), self.shops.get(shop)
        return self._enqueue_products(target.id, [found], force=force)[0]

    async def async_sync_product(self, product_id: int, shop_id: int) -> int:
        job = await self.kit.in_thread(lambda: self.sync_product(product_id, shop_id))
        return job.id

    def sync_stock(self, product: int | str, shop: int | str) -> Job:
        found, target = self.product(product), self.shops.get(shop)
        return self.jobs.sync_stock.options(priority=0).enqueue(found.id, target.id)

    def sync_category(self, category: int, shop: int | str) -> Job:
        """Sync one category, after those of its ancestors the shop lacks."""
        target = self.shops.get(shop)
        return self._enqueue_categories(target.id, [category], again=True)[category]

    def sync_categories(self, shop: int | str, categories: Sequence[int] | None = None,
                        ) -> dict[int, Job]:
        """Sync a whole tree (every category by default) at once: each category's job
        depends on its parent's, so the shop never gets a child before its parent."""
        target = self.shops.get(shop)
        wanted = list(categories) if categories is not None else \
            [c.id for c in self.categories()]
        return self._enqueue_categories(target.id, wanted, again=True)

    def bulk_sync(self, shop: int | str, products: Sequence[int] | None = None,
                  ) -> Batch | None:
        """Every active product (or those given) as one batch: high priority first,
        failures allowed, a summary row in the log when it succeeds, at the first failure
        and when it ends. None when there is nothing to sync."""
        target = self.shops.get(shop)
        with self.kit.ready().begin() as conn:
            chosen = store.products(conn, products)
        if not chosen:
            return None
        jobs = self.jobs
        category_jobs = self._enqueue_categories(target.id, {p.category_id for p in chosen},
                                                 again=False)
        self._mark(target.id, chosen)
        calls = (self._options(jobs.sync_product_in_batch, p, category_jobs)
                 .s(p.id, target.id) for p in chosen)
        return self.kit.app.batch(
            calls, name=f"catalog sync: {target.name} ({len(chosen)} products)",
            allow_failures=True, on_success=jobs.summary.s(target.id, "success"),
            on_failure=jobs.summary.s(target.id, "failure"),
            on_complete=jobs.summary.s(target.id, "complete"))

    def retry_failed(self, shop: int | str | None = None) -> int:
        """Enqueue again every sync in `error` (of one shop, or all), and those left
        `syncing` longer than `stale_syncing` (their worker was lost); returns how many."""
        shop_id = None if shop is None else self.shops.get(shop).id
        stale = self.kit.now() - timedelta(seconds=self.settings.stale_syncing)
        with self.kit.ready().begin() as conn:
            query = sa.select(T.c.entity, T.c.entity_id, T.c.shop_id).where(sa.or_(
                T.c.status == SyncStatus.ERROR.value,
                sa.and_(T.c.status == SyncStatus.SYNCING.value, T.c.started_at < stale)))
            if shop_id is not None:
                query = query.where(T.c.shop_id == shop_id)
            failed = [(str(e), int(i), int(s)) for e, i, s in conn.execute(query)]
        for entity, entity_id, target in failed:
            if entity == "category":
                self._enqueue_categories(target, [entity_id], again=True)
            else:
                with self.kit.ready().begin() as conn:
                    found = store.product(conn, entity_id)
                self._enqueue_products(target, [found])
        return len(failed)

    def _enqueue_products(self, shop_id: int, products: Sequence[Product], *,
                          force: bool = False) -> list[Job]:
        category_jobs = self._enqueue_categories(shop_id, {p.category_id for p in products},
                                                 again=False)
        self._mark(shop_id, products)
        job = self.jobs.sync_product.options(on_conflict="replace") if force \
            else self.jobs.sync_product
        return [self._options(job, p, category_jobs).enqueue(p.id, shop_id,
                                                             *([True] if force else []))
                for p in products]

    def _options(self, job: Any, product: Product, category_jobs: Mapping[int, Job]) -> Any:
        band = Priority.band(product.priority)
        queue = self.settings.high_queue if band == "high" else self.settings.queue
        waits = category_jobs.get(product.category_id)
        return job.options(queue=queue, priority=product.priority,
                           retry_until=self.kit.now() + timedelta(
                               seconds=self.settings.give_up_after),
                           **_after(waits))

    def _mark(self, shop_id: int, products: Sequence[Product]) -> None:
        with self.kit.ready().begin() as conn:
            store.mark_pending(conn, "product", [(p.id, p.priority) for p in products],
                               shop_id, self.kit.now())
            for p in products:  # priorities follow the products
                conn.execute(sa.update(T).where(
                    T.c.entity == "product", T.c.entity_id == p.id, T.c.shop_id == shop_id,
                    T.c.priority != p.priority).values(priority=p.priority))

    def _enqueue_categories(self, shop_id: int, wanted: Iterable[int], *,
                            again: bool) -> dict[int, Job]:
        """Jobs for the `wanted` categories (only those the shop lacks unless `again`) and
        for their ancestors the shop lacks, parents first, each depending on its parent's."""
        with self.kit.ready().begin() as conn:
            tree = store.categories(conn)
            synced = {row.entity_id for row in store.rows(
                conn, shop_id, [SyncStatus.SYNCED], "category", limit=1_000_000)}
        needed: set[int] = set()
        for category_id in wanted:
            if category_id not in tree:
                raise InvalidCatalog(f"no category {category_id!r}")
            if again or category_id not in synced:
                needed.add(category_id)
            parent = tree[category_id].parent_id
            while parent is not None and parent not in synced and parent not in needed:
                needed.add(parent)
                parent = tree[parent].parent_id
        order = sorted(needed, key=lambda c: (_depth(tree, c), c))
        with self.kit.ready().begin() as conn:
            store.mark_pending(conn, "category", [(c, 5) for c in order], shop_id,
                               self.kit.now())
        jobs: dict[int, Job] = {}
        job_type = self.jobs.sync_category
        for category_id in order:
            parent_job = jobs.get(tree[category_id].parent_id or 0)
            jobs[category_id] = job_type.options(
                retry_until=self.kit.now() + timedelta(seconds=self.settings.give_up_after),
                **_after(parent_job)).enqueue(category_id, shop_id)
        return jobs

    # -- reading status and log ---------------------------------------------------------------

    def counts(self, shop: int | str, entity: str = "product") -> dict[str, int]:
        """Rows per status (every status listed, 0 when none)."""
        target = self.shops.get(shop)
        with self.kit.ready().begin() as conn:
            return store.counts(conn, target.id, entity)

    def statuses(self, shop: int | str, statuses: Sequence[SyncStatus] | None = None, *,
                 entity: str | None = None, limit: int = 100) -> list[SyncRow]:
        target = self.shops.get(shop)
        with self.kit.ready().begin() as conn:
            return store.rows(conn, target.id, statuses, entity, limit)

    def status(self, product: int | str, shop: int | str) -> SyncRow | None:
        found, target = self.product(product), self.shops.get(shop)
        with self.kit.ready().begin() as conn:
            return store.status(conn, "product", found.id, target.id)

    def log(self, shop: int | str | None = None, *, entity: str | None = None,
            entity_id: int | None = None, status: str | None = None,
            before_id: int | None = None, limit: int = 50) -> list[LogEntry]:
        """Sync log rows, newest first (keyset pages with `before_id`)."""
        shop_id = None if shop is None else self.shops.get(shop).id
        with self.kit.ready().begin() as conn:
            return store.log_entries(conn, shop_id=shop_id, entity=entity,
                                     entity_id=entity_id, status=status,
                                     before_id=before_id, limit=limit)

    def log_counts(self, shop: int | str, entity: str = "product",
                   ) -> dict[tuple[str, str], int]:
        target = self.shops.get(shop)
        with self.kit.ready().begin() as conn:
            return store.log_counts(conn, target.id, entity)


def _after(job: Job | None) -> dict[str, Any]:
    """Wait for `job` (a parent's or a category's sync). When it fails the dependant still
    runs, finds the parent missing in the shop and ends `error` saying so - visible, and
    retried with the others - instead of being cancelled with its row left `pending`."""
    if job is None:
        return {}
    return {"depends_on": [job.id], "on_dependency_failure": "run"}


def _depth(tree: Mapping[int, Category], category_id: int) -> int:
    depth, parent = 0, tree[category_id].parent_id
    while parent is not None and depth <= len(tree):
        depth, parent = depth + 1, tree[parent].parent_id
    return depth
