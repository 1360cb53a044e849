"""`conveyor commerce carts stats|list` through the real `conveyor` command."""

from __future__ import annotations

import orjson

from conveyor_commerce import Commerce
from conveyor_commerce.sandbox import SandboxServer
from conveyor_commerce.whatsapp.accounts import Account
from tests.commerce.conftest import advance, drain
from tests.commerce.test_cli import _run

ITEMS = [{"name": "Tea", "quantity": 2, "price": "7.25"}]


def test_cart_statistics_and_listing(kit: Commerce, account: Account,
                                     sandbox: SandboxServer) -> None:
    reminded = kit.carts.create("shop", "48600700700", ITEMS, currency="PLN").id
    kit.carts.create("shop", "48600700701", ITEMS, currency="PLN")
    advance(kit, 3601)
    kit.carts.scan()
    drain(kit)
    kit.carts.mark_ordered(reminded, order_id="PS-9")
    kit.carts.create("shop", "48600700702", ITEMS, currency="PLN")
    advance(kit, 1)
    stats = _run(kit, "carts", "stats", "--json")
    assert stats.exit_code == 0, stats.output
    found = orjson.loads(stats.output)
    assert {k: found[k] for k in ("total", "active", "abandoned", "reminded", "recovered")} \
        == {"total": 3, "active": 1, "abandoned": 2, "reminded": 2, "recovered": 1}
    assert found["recovery_rate"] == 0.5
    table = _run(kit, "carts", "stats", "--days", "1")
    assert table.exit_code == 0 and "50.0%" in table.output
    listed = orjson.loads(_run(kit, "carts", "list", "--status", "recovered", "--json").output)
    assert [(c["id"], c["order_id"], c["total"]) for c in listed] == [(reminded, "PS-9", "14.50")]
    by_phone = _run(kit, "carts", "list", "--phone", "+48 600 700 702")
    assert by_phone.exit_code == 0 and "48600700702" in by_phone.output
    assert "48600700700" not in by_phone.output
    bad = _run(kit, "carts", "stats", "--since", "yesterday")
    assert bad.exit_code == 2 and "is not like" in bad.output
    empty = _run(kit, "carts", "stats", "--since", "2030-01-01", "--until", "2029-01-01")
    assert empty.exit_code == 1 and "since < until" in empty.output
