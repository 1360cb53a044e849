"""The PrestaShop client against the sandbox Webservice: JSON reads, XML writes, find by
reference, PUT's full replace (and the client's read-modify-write that survives it), and
every error mapped to retry / throttle / discard with the shop's own message - with the key
never in an error, a URL or the sandbox's log."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from conveyor_commerce.prestashop import codes, xmlio
from conveyor_commerce.prestashop.client import Client, Endpoint, ShopError, check_reference
from conveyor_commerce.sandbox.prestashop import DEFAULT_KEY, PrestaShopSandbox
from conveyor_commerce.vault import Secret

SENTINEL_KEY = "SENTINELKEY7c1f9eSENTINELKEY7c1f"
LANG = "1"


def lang(value: str) -> list[dict[str, str]]:
    return [{"id": LANG, "value": value}]


@pytest.fixture
def shop() -> Iterator[PrestaShopSandbox]:
    with PrestaShopSandbox() as server:
        server.shop.keys.add(SENTINEL_KEY)
        yield server


@pytest.fixture
async def client(shop: PrestaShopSandbox) -> AsyncIterator[Client]:
    async with httpx.AsyncClient(timeout=2.0) as http:
        yield Client(http, Endpoint(shop.url, Secret(SENTINEL_KEY)))


def product(reference: str = "SKU-1", **changes: object) -> dict[str, object]:
    return {"reference": reference, "price": "19.90", "id_category_default": 2, "active": 1,
            "state": 1, "product_type": "standard", "name": lang("Kettle"),
            "link_rewrite": lang("kettle"), "associations": {"categories": [{"id": 2}]},
            **changes}


async def test_create_find_and_read_modify_write_keeps_fields_the_kit_does_not_manage(
        client: Client, shop: PrestaShopSandbox) -> None:
    created = await client.create("products", product(description=lang("Hand-made")))
    assert created["price"] == "19.900000" and created["reference"] == "SKU-1"
    [found] = await client.find("products", {"reference": "sku-1"})  # case-insensitive
    assert found["id"] == created["id"]
    assert await client.find("products", {"reference": "SKU-2"}) == []  # 1.7's bare []
    updated = await client.update("products", created["id"], {"price": "21"})
    assert updated["price"] == "21.000000"
    assert updated["description"] == lang("Hand-made")  # read-modify-write kept it
    assert updated["associations"]["categories"] == [{"id": "2"}]
    [put] = [r for r in shop.shop.log() if r.method == "PUT"]
    assert put.status == 200


def test_put_is_a_full_replace_in_the_sandbox(shop: PrestaShopSandbox) -> None:
    """What the read-modify-write protects against: a PUT without a field blanks it."""
    item = shop.shop.create("products", product(description=lang("Hand-made")))["id"]
    body = xmlio.dumps("products", {"id": item, "price": "5", "name": lang("Kettle"),
                                    "link_rewrite": lang("kettle")})
    auth = httpx.BasicAuth(DEFAULT_KEY, "")
    answer = httpx.put(f"{shop.url}/api/products/{item}?output_format=JSON", content=body,
                       auth=auth)
    assert answer.status_code == 200, answer.text
    assert answer.json()["product"]["description"] == lang("")
    assert answer.json()["product"]["reference"] == ""
    missing_id = xmlio.dumps("products", {"price": "5"})
    answer = httpx.put(f"{shop.url}/api/products/{item}?output_format=JSON",
                       content=missing_id, auth=auth)
    assert (answer.status_code, answer.json()["errors"][0]["code"]) == (400, 90)
    with_id = xmlio.dumps("products", {"id": 9, **product()})
    answer = httpx.post(f"{shop.url}/api/products", content=with_id, auth=auth)
    assert answer.status_code == 400 and b"<code>91</code>" in answer.content  # XML errors
    assert answer.headers["PSWS-Version"] and "Execution-Time" in answer.headers
    read_only = xmlio.dumps("products", {"id": item, **product(), "quantity": 3})
    answer = httpx.put(f"{shop.url}/api/products/{item}?output_format=JSON",
                       content=read_only, auth=auth)
    assert answer.json()["errors"][0]["code"] == 93


async def test_stock_is_written_to_stock_availables(client: Client,
                                                    shop: PrestaShopSandbox) -> None:
    created = await client.create("products", product())
    [stock] = await client.find("stock_availables", {"id_product": created["id"]})
    await client.update("stock_availables", int(stock["id"]), {"quantity": 12}, current=stock)
    assert (await client.get("products", created["id"]))["quantity"] == "12"


@pytest.mark.parametrize(("status", "action"), [(500, codes.Action.RETRY),
                                                (503, codes.Action.RETRY),
                                                (429, codes.Action.THROTTLE)])
async def test_server_errors_retry_and_429_throttles_with_retry_after(
        client: Client, shop: PrestaShopSandbox, status: int, action: codes.Action) -> None:
    shop.shop.inject(status, retry_after=7)
    with pytest.raises(ShopError) as caught:
        await client.create("products", product())
    assert caught.value.status == status and caught.value.rule.action == action
    assert caught.value.retry_after == (7.0 if status == 429 else None)
    assert (await client.create("products", product()))["id"] == 1  # the fault was used up


async def test_validation_errors_are_discarded_with_the_shops_message(client: Client) -> None:
    with pytest.raises(ShopError) as caught:
        await client.create("products", product(price="-3"))
    assert caught.value.rule.action == codes.Action.DISCARD
    assert caught.value.code == 85 and "Product->price is not valid" in str(caught.value)
    with pytest.raises(ShopError) as caught:
        await client.create("categories", {"id_parent": 99, "active": 1,
                                           "name": lang("Boots"),
                                           "link_rewrite": lang("boots")})
    assert caught.value.code == 86 and "Parent category 99 does not exist" in str(caught.value)
    with pytest.raises(ShopError) as caught:
        await client.update("products", 42, {"price": "1"})
    assert (caught.value.status, caught.value.code) == (404, 87)


async def test_timeouts_retry_and_the_key_never_shows(shop: PrestaShopSandbox) -> None:
    shop.shop.latency = 0.5
    async with httpx.AsyncClient(timeout=httpx.Timeout(0.1)) as http:
        client = Client(http, Endpoint(shop.url, Secret(SENTINEL_KEY)))
        with pytest.raises(ShopError) as caught:
            await client.get("products", 1)
    assert caught.value.status == 0 and caught.value.rule.action == codes.Action.RETRY
    assert SENTINEL_KEY not in repr(caught.value) + str(caught.value)
    shop.shop.latency = 0.0
    async with httpx.AsyncClient() as http:
        wrong = Client(http, Endpoint(shop.url, Secret(SENTINEL_KEY[::-1])))
        with pytest.raises(ShopError) as caught:
            await wrong.get("products", 1)
    assert (caught.value.status, caught.value.rule.action) == (401, codes.Action.DISCARD)
    assert SENTINEL_KEY[::-1] not in str(caught.value)
    assert SENTINEL_KEY not in repr(shop.shop.log())


def test_references_that_change_the_filters_meaning_are_refused() -> None:
    assert check_reference("SKU-1/blue") == "SKU-1/blue"
    for bad in ("A|B", "[A]", "50%", "A,B", "!A"):
        with pytest.raises(ValueError, match="filters give a meaning"):
            check_reference(bad)


def test_xml_round_trip_and_error_bodies() -> None:
    fields = {"reference": "A&B <1>", "name": lang("Tea & Co"),
              "associations": {"categories": [{"id": "2"}, {"id": "5"}]}}
    assert xmlio.loads(xmlio.dumps("products", fields), "products") == fields
    assert xmlio.errors(xmlio.error_body(85, "bad")) == [(85, "bad")]
    with pytest.raises(xmlio.XmlError, match="DOCTYPE"):
        xmlio.loads(b'<!DOCTYPE x [<!ENTITY a "b">]><prestashop/>', "products")
