"""Bad input to the catalog API is refused with an error naming the field and the rule, and
stores nothing; a shop's key is sealed by the vault and appears in no row, job, log line,
listing or the sandbox's own log."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import sqlalchemy as sa

from conveyor import Conveyor
from conveyor_commerce import Commerce
from conveyor_commerce.catalog.model import CatalogSettings, Shop
from conveyor_commerce.errors import CatalogNotFound, CommerceError, InvalidCatalog, ShopNotFound
from conveyor_commerce.sandbox.prestashop import PrestaShopSandbox
from conveyor_commerce.vault import Vault, generate_key
from tests.commerce.catalog.conftest import CATALOG, KEY, settle
from tests.commerce.conftest import TEST_SETTINGS, _truncate_commerce
from tests.conftest import FAST


def test_bad_shops_are_refused_and_nothing_is_stored(catalog_kit: Commerce,
                                                     shop_server: PrestaShopSandbox) -> None:
    catalog, url = catalog_kit.catalog, shop_server.url
    cases: list[tuple[dict[str, Any], str]] = [
        ({"key": "short"}, "32 letters and digits"),
        ({"base_url": "ftp://shop"}, "the shop's root"),
        ({"base_url": f"{url}/?ws_key={KEY}"}, "without a query"),
        ({"base_url": url.replace("//", f"//{KEY}@")}, "without a query, credentials"),
        ({"timezone": "Mars/Olympus"}, "not an IANA time zone"),
        ({"rate_limit": "fast"}, "write COUNT/UNIT"),
        ({"name": " padded "}, "no outer spaces"),
        ({"id_shop": 0}, "a shop id >= 1"),
    ]
    for changes, rule in cases:
        fields: dict[str, Any] = {"name": "main", "base_url": url, "key": KEY, **changes}
        with pytest.raises(InvalidCatalog, match=rule) as caught:
            catalog.add_shop(**fields)
        assert KEY not in str(caught.value)
    assert catalog.shops.list() == []
    catalog.add_shop("main", url, KEY)
    with pytest.raises(InvalidCatalog, match="already exists"):
        catalog.add_shop("main", url, KEY)
    with pytest.raises(ShopNotFound, match="no PrestaShop shop 'other'"):
        catalog.sync_categories("other")


def test_bad_products_and_categories_are_refused(catalog_kit: Commerce, shop: Shop) -> None:
    catalog = catalog_kit.catalog
    top = catalog.add_category("Shoes")
    with pytest.raises(InvalidCatalog, match="isCatalogName"):
        catalog.add_category("<b>Boots</b>")
    with pytest.raises(CatalogNotFound, match="no category 99"):
        catalog.add_category("Boots", parent=99)
    good = {"reference": "SKU-1", "name": "Boot", "price": "10", "category": top.id}
    bad: list[tuple[dict[str, Any], str]] = [
        ({"price": "abc"}, "price 'abc': a number >= 0"),
        ({"price": "-1"}, "a number >= 0"),
        ({"price": "1.1234567"}, "at most 6 decimals"),
        ({"price": True}, "a number >= 0"),
        ({"reference": "A|B"}, "filters give a meaning"),
        ({"reference": "x" * 65}, "1 to 64 characters"),
        ({"reference": ""}, "1 to 64 characters"),
        ({"priority": 0}, "from 1 \\(first\\) to 10"),
        ({"stock": 1.5}, "stock 1.5: an integer"),
        ({"category": 99}, "no category 99"),
    ]
    for changes, rule in bad:
        with pytest.raises(InvalidCatalog, match=rule):
            catalog.add_products([{**good, "reference": "OK-1"}, {**good, **changes}])
    with pytest.raises(InvalidCatalog, match="product 1"):  # named by its position
        catalog.add_products([good, {**good, "price": "x"}])
    with pytest.raises(CatalogNotFound):
        catalog.product("OK-1")  # the good one of each refused batch was not stored either
    catalog.add_products([good])
    with pytest.raises(InvalidCatalog, match="already used"):
        catalog.add_products([good])
    with pytest.raises(InvalidCatalog, match="cannot change \\['reference'\\]"):
        catalog.update_product("SKU-1", reference="SKU-2")
    with pytest.raises(InvalidCatalog, match="a number >= 0"):
        catalog.update_product("SKU-1", price="free")
    assert catalog.product("SKU-1").price == "10"
    with pytest.raises(CatalogNotFound, match="no product 'SKU-9'"):
        catalog.sync_product("SKU-9", "main")
    with pytest.raises(CommerceError, match="shop_concurrency"):
        CatalogSettings(shop_concurrency=0)


def test_the_key_is_sealed_and_shows_nowhere(url: str, shop_server: PrestaShopSandbox,
                                             caplog: pytest.LogCaptureFixture) -> None:
    _truncate_commerce(url)
    caplog.set_level(logging.DEBUG)
    app = Conveyor(url, settings=FAST)
    kit = Commerce(app, settings=TEST_SETTINGS, catalog=CATALOG, vault=Vault(generate_key()))
    try:
        shop = kit.catalog.add_shop("main", shop_server.url, KEY, rate_limit="1000/s")
        assert shop.key_encrypted and KEY not in repr(shop)
        top = kit.catalog.add_category("All")
        kit.catalog.add_product("SKU-1", "Kettle", "20", category=top.id)
        shop_server.shop.reject(["SKU-1"])
        kit.catalog.sync_product("SKU-1", "main")
        settle(kit)
        with kit.ready().begin() as conn:
            dump = [str(row) for table in ("commerce_shops", "commerce_sync_status",
                                           "commerce_sync_log")
                    for row in conn.execute(sa.text(f"SELECT * FROM {table}"))]
        assert any("fernet:" in row for row in dump)
        jobs = [repr(job) for job in app.jobs()]
        everything = "\n".join([*dump, *jobs, repr(kit.catalog.log()), caplog.text,
                                repr(shop_server.shop.log()), repr(kit.catalog.shops.list())])
        assert "Property Product->price is not valid" in everything  # the failure is there
        assert KEY not in everything
    finally:
        kit.close()
        app.close()
