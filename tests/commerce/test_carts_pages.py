"""The Carts page over HTTP, on both backends: the statistics card and the list with its
filters in the URL and keyset pages, bad filters reported (nothing else changed), customer
data escaped; and the overview card."""

from __future__ import annotations

import html
import re

from conveyor_commerce import Commerce
from conveyor_commerce.sandbox import SandboxServer
from conveyor_commerce.whatsapp.accounts import Account
from tests.commerce.conftest import advance, drain
from tests.commerce.pages_scene import dashboard, link
from tests.web.conftest import ADMIN, HOSTILE_SCRIPT, VIEWER


def cart_ids(page: str) -> list[int]:
    return [int(found) for found in re.findall(r'<tr data-cart="(\d+)"', page)]


def stat(page: str, name: str) -> str:
    found = re.search(rf'data-stat="{name}">([^<]*)<', page)
    assert found, name
    return found.group(1)


def test_carts_page_statistics_filters_and_pages(kit: Commerce, account: Account,
                                                 sandbox: SandboxServer) -> None:
    items = [{"name": HOSTILE_SCRIPT, "quantity": 1, "price": "3.00"}]
    ids = [kit.carts.create("shop", f"4860080000{i}", items, currency="PLN").id
           for i in range(4)]
    advance(kit, 3601)
    kit.carts.scan()
    drain(kit)
    kit.carts.mark_ordered(ids[0], order_id="PS-77")
    fresh = kit.carts.create("shop", "48600899999", items, currency="PLN").id
    with dashboard(kit, VIEWER) as (client, _):
        page = client.get("/carts/").text
        assert cart_ids(page) == [fresh, *reversed(ids)]
        assert (stat(page, "total"), stat(page, "reminded"), stat(page, "recovered"),
                stat(page, "rate")) == ("5", "4", "1", "25.0%")
        assert HOSTILE_SCRIPT not in page and "&lt;script&gt;" in page
        assert cart_ids(client.get("/carts/?status=recovered").text) == [ids[0]]
        both = client.get("/carts/?status=active&status=recovered").text
        assert cart_ids(both) == [fresh, ids[0]]
        assert cart_ids(client.get("/carts/?phone=%2B48+600+800+002").text) == [ids[2]]
        first = client.get("/carts/?limit=25&status=reminded").text
        assert cart_ids(first) == [ids[3], ids[2], ids[1]]
        assert 'id="next-page"' not in first
        bad = html.unescape(client.get("/carts/?status=lost&days=0&since=soon").text)
        assert "Unknown status 'lost'" in bad and "days: '0'" in bad and "since: 'soon'" in bad
        assert cart_ids(bad) == [fresh, *reversed(ids)]  # bad fields ignored, the rest shown
        reversed_period = client.get("/carts/?since=2030-01-02&until=2030-01-01").text
        assert "since &lt; until" in reversed_period and cart_ids(reversed_period) == []
        old = client.get("/carts/?since=2000-01-01&until=2000-01-02").text
        assert stat(old, "total") == "0" and stat(old, "rate") == "-"
        overview = client.get("/").text
        assert 'id="carts-card"' in overview
        assert re.search(r'data-carts="recovered">1<', overview)


def test_carts_page_pages_by_keyset(kit: Commerce, account: Account) -> None:
    items = [{"name": "Tea", "quantity": 1, "price": "3"}]
    ids = [kit.carts.create("shop", f"486009{i:05d}", items, currency="EUR").id
           for i in range(30)]
    with dashboard(kit, ADMIN) as (client, _):
        first = client.get("/carts/?limit=25").text
        assert cart_ids(first) == ids[::-1][:25]
        second = client.get(link(first, "next-page")).text
        assert cart_ids(second) == ids[::-1][25:]
        assert 'id="next-page"' not in second and 'id="first-page"' in second
