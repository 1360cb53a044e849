"""The catalog sync pages over HTTP, on both backends: each shop's counts, errors with retry
buttons, conflicts with both versions and an overwrite button, the sync log with filters and
keyset pages, the overview card; read-only users offered and allowed no action; the shop's
key on no page."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from conveyor_commerce import Commerce
from conveyor_commerce.catalog.model import Shop, SyncStatus
from conveyor_commerce.sandbox.prestashop import PrestaShopSandbox
from tests.commerce.catalog.conftest import KEY, settle
from tests.commerce.pages_scene import dashboard, notice
from tests.web.conftest import ADMIN, VIEWER


def scene(kit: Commerce, server: PrestaShopSandbox) -> dict[str, int]:
    """Three products synced, one refused by the shop (error), one changed there (conflict)."""
    top = kit.catalog.add_category("Tea")
    kit.catalog.add_products({"reference": f"T-{n}", "name": f"Tea {n}", "price": "9.5",
                              "category": top.id} for n in range(5))
    server.shop.reject(["T-3"])
    kit.catalog.bulk_sync("main")
    settle(kit)
    [remote] = server.shop.find("products", reference="T-4")
    server.shop.edit("products", remote["id"], {"price": "12"})
    kit.catalog.update_product("T-4", name='Tea "four" & co')
    kit.catalog.sync_product("T-4", "main")
    settle(kit)
    return {"error": kit.catalog.product("T-3").id, "conflict": kit.catalog.product("T-4").id}


@pytest.fixture
def admin(catalog_kit: Commerce, shop: Shop) -> Iterator[tuple[TestClient, str]]:
    with dashboard(catalog_kit, ADMIN) as logged_in:
        yield logged_in


def test_status_page_shows_counts_errors_and_both_versions_of_a_conflict(
        catalog_kit: Commerce, shop: Shop, shop_server: PrestaShopSandbox,
        admin: tuple[TestClient, str]) -> None:
    kit, (client, token) = catalog_kit, admin
    ids = scene(kit, shop_server)
    page = client.get("/catalog/").text
    counts = re.search(r'<tr data-entity="product">(.*?)</tr>', page, re.S)
    assert counts is not None
    shown = dict(re.findall(r'data-count="(\w+)">(\d+)<', counts.group(1)))
    assert shown == {"pending": "0", "syncing": "0", "synced": "3", "error": "1",
                     "conflict": "1"}
    assert f'data-error="product-{ids["error"]}"' in page
    assert "Property Product-&gt;price is not valid" in page
    assert re.search(r'data-ours="price">9.5<', page)
    assert re.search(r'data-theirs="price">12<', page)
    assert "Tea &#34;four&#34; &amp; co" in page  # escaped
    assert KEY not in page
    assert 'id="catalog-card"' in client.get("/").text

    shop_server.shop.rejected.clear()
    retried = client.post("/catalog/retry", data={"csrf_token": token, "shop": "1",
                                                  "entity": "product", "id": ids["error"]})
    assert notice(retried.text) == f"Product {ids['error']} enqueued again for main."
    forced = client.post("/catalog/overwrite", data={"csrf_token": token, "shop": "1",
                                                     "id": ids["conflict"]})
    assert notice(forced.text) == f"Product {ids['conflict']} will overwrite the shop's copy " \
                                  "in main."
    settle(kit)
    assert kit.catalog.counts("main")["synced"] == 5
    [remote] = shop_server.shop.find("products", reference="T-4")
    assert remote["name"][0]["value"] == 'Tea "four" & co'
    refused = client.post("/catalog/overwrite", data={"csrf_token": token, "shop": "1",
                                                      "id": ids["conflict"]})
    assert refused.status_code == 400 and "is not in conflict" in refused.text
    unknown = client.post("/catalog/retry", data={"csrf_token": token, "shop": "nowhere"})
    assert unknown.status_code == 400 and "no PrestaShop shop" in html.unescape(unknown.text)


def test_the_log_pages_newest_first_with_filters(
        catalog_kit: Commerce, shop: Shop, shop_server: PrestaShopSandbox,
        admin: tuple[TestClient, str]) -> None:
    kit, (client, _) = catalog_kit, admin
    top = kit.catalog.add_category("All")
    kit.catalog.add_products({"reference": f"L-{n}", "name": f"Item {n}", "price": "1",
                              "category": top.id} for n in range(30))
    kit.catalog.bulk_sync("main")
    settle(kit)
    logged = [e.id for e in kit.catalog.log("main", limit=100)]
    first = client.get("/catalog/log?limit=25").text
    rows = [int(i) for i in re.findall(r'data-log="(\d+)"', first)]
    assert rows == logged[:25]
    older = re.search(r'id="older" href="([^"]+)"', first)
    assert older is not None
    rest = client.get(html.unescape(older.group(1))).text
    assert [int(i) for i in re.findall(r'data-log="(\d+)"', rest)] == logged[25:]
    assert 'id="older"' not in rest
    errors = client.get("/catalog/log?status=error&shop=1").text
    assert "Nothing logged for this filter" in errors
    assert "Nothing logged" in client.get("/catalog/log?shop=999").text
    assert client.get("/catalog/log?limit=abc&before=-1").status_code == 200


def test_read_only_users_see_no_action_and_may_take_none(
        catalog_kit: Commerce, shop: Shop, shop_server: PrestaShopSandbox) -> None:
    ids = scene(catalog_kit, shop_server)
    with dashboard(catalog_kit, VIEWER) as (client, token):
        page = client.get("/catalog/").text
        assert "data-retry" not in page and "data-overwrite" not in page
        for path in ("/catalog/retry", "/catalog/overwrite"):
            response = client.post(path, data={"csrf_token": token, "shop": "1",
                                               "entity": "product", "id": ids["conflict"]})
            assert response.status_code == 403
    row = catalog_kit.catalog.status("T-4", "main")
    assert row is not None and row.status == SyncStatus.CONFLICT
