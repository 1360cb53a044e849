"""The demo's catalogue and shop: 300 products in a 3-level category tree (4 departments,
3 aisles each, 2 shelves each), a shop on the PrestaShop sandbox, and a full sync started at
once (what the nightly cron would start): categories parents first, then the products, high
priority first, at the shop's rate. Three products carry a price the shop refuses (sync
errors to retry from the dashboard) and the shop answers a few 503s (retried with backoff).

The catalogue is created once per database; the shop is pointed at this run's sandbox, whose
store starts empty, so its categories are synced again before the products.
"""

from __future__ import annotations

import dataclasses
import itertools

from conveyor_commerce.catalog.model import Category
from conveyor_commerce.demo.sandbox_control import PrestaShopSandbox
from conveyor_commerce.errors import CatalogNotFound, ShopNotFound
from conveyor_commerce.kit import Commerce

SHOP = "demo-prestashop"
RATE = "20/s"
"""The shop's rate limit: 300 products take about 15 s, long enough to watch."""
PRODUCTS = 300
TREE = {
    "Coffee": {"Beans": ["Single origin", "Blends"], "Ground": ["Espresso", "Filter"],
               "Capsules": ["Compatible", "Original"]},
    "Tea": {"Black": ["Assam", "Darjeeling"], "Green": ["Sencha", "Matcha"],
            "Herbal": ["Mint", "Chamomile"]},
    "Equipment": {"Grinders": ["Manual", "Electric"], "Brewers": ["Pour-over", "Moka"],
                  "Machines": ["Lever", "Automatic"]},
    "Accessories": {"Cups": ["Ceramic", "Glass"], "Storage": ["Canisters", "Bags"],
                    "Cleaning": ["Descaler", "Brushes"]},
}
REFUSED = ["DEMO-0007", "DEMO-0150", "DEMO-0299"]


@dataclasses.dataclass(frozen=True, slots=True)
class CatalogSample:
    categories: int
    products: int
    batch_id: int | None

    def describe(self) -> str:
        return (f"catalog            {self.products} products in {self.categories} categories "
                f"(3 levels) -> shop {SHOP!r} at {RATE}; full sync started (batch "
                f"{self.batch_id}), {len(REFUSED)} products the shop refuses")


def seed(kit: Commerce, sandbox: PrestaShopSandbox, key: str) -> CatalogSample:
    categories = _catalogue(kit)
    _shop(kit, sandbox.url, key)
    sandbox.reject(REFUSED)
    sandbox.inject(503, times=3, resource="products")
    kit.catalog.sync_categories(SHOP)  # the whole tree again: this sandbox starts empty
    batch = kit.catalog.bulk_sync(SHOP)
    return CatalogSample(len(categories), PRODUCTS, batch.id if batch else None)


def _catalogue(kit: Commerce) -> list[Category]:
    """The tree and its products, unless an earlier run created them."""
    catalog = kit.catalog
    try:
        catalog.product("DEMO-0001")
        return catalog.categories()
    except CatalogNotFound:
        pass
    shelves = []
    for department, aisles in TREE.items():
        top = catalog.add_category(department)
        for aisle, names in aisles.items():
            middle = catalog.add_category(aisle, parent=top.id)
            shelves += [catalog.add_category(name, parent=middle.id) for name in names]
    cycle = itertools.cycle(shelves)
    catalog.add_products(
        {"reference": f"DEMO-{n:04d}", "name": f"{shelf.name} no. {n}",
         "price": f"{4 + n % 50}.{n % 100:02d}", "category": shelf.id,
         "stock": n % 40, "priority": 2 if n % 10 == 0 else 8 if n % 7 == 0 else 5}
        for n, shelf in zip(range(1, PRODUCTS + 1), cycle, strict=False))
    return catalog.categories()


def _shop(kit: Commerce, sandbox_url: str, key: str) -> None:
    shops = kit.catalog.shops
    try:
        shops.get(SHOP)
    except ShopNotFound:
        shops.add(SHOP, sandbox_url, key, rate_limit=RATE)
        return
    shops.update(SHOP, base_url=sandbox_url, rate_limit=RATE)
    shops.rotate_key(SHOP, key)


def status(kit: Commerce) -> str:
    """Products by sync status, for the demo's status line."""
    counts = kit.catalog.counts(SHOP)
    return "catalog: " + ", ".join(f"{n} {s}" for s, n in counts.items() if n)
