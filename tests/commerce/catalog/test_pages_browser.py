"""The catalog sync pages in a real headless chromium (the dashboard tests' Playwright
set-up), on both backends: a failed sync retried with its button reaches the shop, the
conflict shows both versions, and the pages render without a console error (so without a
Content-Security-Policy violation); screenshots for the README."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conveyor import Conveyor
from conveyor_commerce import Commerce
from conveyor_commerce.sandbox.prestashop import PrestaShopSandbox
from tests.commerce.catalog.conftest import CATALOG, KEY, settle
from tests.commerce.conftest import TEST_SETTINGS, _truncate_commerce
from tests.conftest import FAST
from tests.web.live import Live, screenshots


@pytest.fixture(scope="module")
def browser(request: pytest.FixtureRequest) -> Iterator[Any]:
    """One headless chromium for this module (see tests/web/conftest.py for why the
    PostgreSQL database is made first)."""
    from tests.web import live

    with contextlib.suppress(pytest.skip.Exception):
        request.getfixturevalue("pg_url")
    yield from live.launch()


@pytest.fixture
def kit(url: str, shop_server: PrestaShopSandbox) -> Iterator[Commerce]:
    """The kit, closed from a fresh thread: the sync Playwright API runs an event loop in
    this one, on which the app's own loops cannot be finished."""
    _truncate_commerce(url)
    app = Conveyor(url, settings=FAST)
    found = Commerce(app, settings=TEST_SETTINGS, catalog=CATALOG)
    found.catalog.add_shop("main", shop_server.url, KEY, rate_limit="5000/s")
    yield found
    closing = threading.Thread(target=lambda: (found.close(), app.close()))
    closing.start()
    closing.join(timeout=30)


def test_retry_a_failed_sync_from_the_status_page(
        kit: Commerce, shop_server: PrestaShopSandbox, browser: Any, url: str,
        tmp_path: Path) -> None:
    kitchen = kit.catalog.add_category("Kitchen")
    tea = kit.catalog.add_category("Tea", parent=kitchen.id)
    kit.catalog.add_products(
        [{"reference": f"K-{n}", "name": f"Kettle {n}", "price": f"{20 + n}.90",
          "category": kitchen.id, "stock": n, "priority": 1 + n % 10} for n in range(8)]
        + [{"reference": f"T-{n}", "name": f"Green tea {n}", "price": "4.5",
            "category": tea.id} for n in range(4)])
    shop_server.shop.reject(["K-3"])
    kit.catalog.bulk_sync("main")
    settle(kit)
    [remote] = shop_server.shop.find("products", reference="T-1")
    shop_server.shop.edit("products", remote["id"], {"price": "5.2"})
    kit.catalog.update_product("T-1", price="4.9")
    kit.catalog.sync_product("T-1", "main")
    settle(kit)
    failed = kit.catalog.product("K-3").id

    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(15_000)
    live = Live(kit.app, context.new_page())
    errors: list[str] = []
    live.page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        live.log_in(path="/catalog/")
        page = live.page
        product = page.locator('#shop-1 tr[data-entity="product"]')
        assert product.locator('[data-count="error"]').inner_text() == "1"
        assert product.locator('[data-count="conflict"]').inner_text() == "1"
        conflict = page.locator('tr[data-conflict] [data-theirs="price"]')
        assert conflict.inner_text() == "5.2"
        assert page.locator('tr[data-conflict] [data-ours="price"]').inner_text() == "4.9"
        if url.startswith("sqlite"):
            page.screenshot(path=screenshots(tmp_path) / "catalog-sync.png", full_page=True)
        shop_server.shop.rejected.clear()  # the merchant fixed the shop's rule
        page.click(f'button[data-retry="product-{failed}"]')
        assert live.notice() == f"Product {failed} enqueued again for main."
        settle(kit)
        page.reload()
        assert page.locator('#shop-1 tr[data-entity="product"] [data-count="error"]') \
            .inner_text() == "0"
        page.click("#catalog-nav >> text=Sync log")
        first = page.locator("#sync-log tbody tr").first
        assert first.get_attribute("data-operation") == "create"
        assert "created 'K-3'" in first.inner_text()
        if url.startswith("sqlite"):
            page.screenshot(path=screenshots(tmp_path) / "catalog-log.png", full_page=True)
        assert KEY not in page.content()
        assert errors == []
    finally:
        live.close()
        context.close()
