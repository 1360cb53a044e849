"""The Carts page in a real headless chromium: filter the list from the form (the filter
lands in the URL), read the statistics card, page on; and its screenshot for the README,
without a single console error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conveyor import Conveyor, FrozenClock
from conveyor_commerce import Commerce
from conveyor_commerce.sandbox import SandboxServer
from tests.commerce.conftest import NUMBER, TEST_SETTINGS, advance, drain
from tests.commerce.test_pages_browser import browser, served  # noqa: F401  (fixture)
from tests.conftest import FAST
from tests.web.live import screenshots

BASKETS = [[{"name": "Espresso beans 1 kg", "quantity": 2, "price": "64.90"}],
           [{"name": "Milk jug", "quantity": 1, "price": "39.00"},
            {"name": "Tamper", "quantity": 1, "price": "79.00"}],
           [{"name": "Descaler", "quantity": 3, "price": "19.90"}]]


def _week(kit: Commerce, sandbox: SandboxServer) -> dict[str, int]:
    """Carts in every status: reminded, recovered, ordered, expired, active."""
    kit.accounts.add("shop", NUMBER, "EAAG-shot", base_url=sandbox.url, send_rate=10)
    made = [kit.carts.create("shop", f"+48 600 200 3{n:02d}", BASKETS[n % 3], currency="PLN",
                             coupon_code="SPRING" if n % 4 == 0 else None).id
            for n in range(8)]
    advance(kit, 3601)
    kit.carts.scan()
    drain(kit)
    kit.carts.mark_ordered(made[0], order_id="PS-5001")
    kit.carts.mark_ordered(made[1], order_id="PS-5002")
    kit.carts.update(made[2], coupon_code="WELCOME")
    advance(kit, 73 * 3600)
    kit.carts.cleanup()
    fresh = kit.carts.create("shop", "+48 600 200 399", BASKETS[1], currency="PLN").id
    ordered = kit.carts.create("shop", "+48 600 200 398", BASKETS[0], currency="PLN").id
    kit.carts.mark_ordered(ordered, order_id="PS-5003")
    return {"recovered": made[0], "fresh": fresh}


def test_filter_the_carts_and_read_their_statistics(browser: Any, tmp_path: Path) -> None:  # noqa: F811
    app = Conveyor(f"sqlite:///{tmp_path / 'carts.db'}", clock=FrozenClock(), settings=FAST)
    kit = Commerce(app, settings=TEST_SETTINGS)
    try:
        with SandboxServer() as sandbox, served(kit, browser) as (live, errors):
            sandbox.state.add_number(NUMBER, "EAAG-shot")
            ids = _week(kit, sandbox)
            live.log_in(path="/carts/")
            page = live.page
            assert page.locator("#carts tr[data-cart]").count() == 10
            assert page.inner_text('[data-stat="recovered"]') == "2"
            page.fill("input[name=days]", "30")
            page.select_option("select[name=status]", ["recovered"])
            page.click("#filters button[type=submit]")
            page.wait_for_url("**/carts/?*status=recovered*")
            rows = page.locator("#carts tr[data-cart]")
            assert rows.count() == 2
            assert rows.first.get_attribute("data-status") == "recovered"
            assert "PS-5001" in page.inner_text(f'#carts tr[data-cart="{ids["recovered"]}"]')
            assert page.inner_text('[data-stat="rate"]') == "25.0%"  # 2 of the 8 reminded
            page.fill("input[name=phone]", "600 200 399")
            page.select_option("select[name=status]", [])
            page.click("#filters button[type=submit]")
            page.wait_for_url(lambda url: "phone=600" in url and "status=" not in url)
            assert [r.get_attribute("data-cart") for r in
                    page.locator("#carts tr[data-cart]").all()] == [str(ids["fresh"])]
            live.goto("/carts/")
            page.wait_for_load_state("networkidle")
            folder = screenshots(tmp_path)
            page.screenshot(path=folder / "carts.png", full_page=True)
            live.goto("/")
            assert page.inner_text('[data-carts="recovered"]') == "2"
            assert errors == []
        assert (folder / "carts.png").stat().st_size > 10_000
    finally:
        kit.close()
        app.close()
