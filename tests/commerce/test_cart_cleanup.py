"""The expired-cart cleanup: old open carts expired (or deleted) in batches, one short
transaction each, counts kept - while reminders keep going out. (200,000 carts: bench/carts.py.)"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from conveyor import Conveyor, FrozenClock
from conveyor_commerce import CartFilter, CartStatus, Commerce, CommerceSettings, tables
from conveyor_commerce.sandbox import SandboxServer
from tests.commerce.conftest import (
    NUMBER,
    TEST_SETTINGS,
    TOKEN,
    _truncate_commerce,
    advance,
    drain,
    sends_to,
)
from tests.conftest import FAST

C = CartStatus
OLD, BATCH = 550, 50


def old_carts(kit: Commerce, account_id: int, count: int) -> None:
    """`count` carts last changed 4 days ago, written in bulk (test data, not the API)."""
    then = kit.now() - timedelta(days=4)
    rows = [{"account_id": account_id, "customer_phone": f"4860{i:07d}",
             "items": '[{"name": "A", "quantity": 1, "price": "1.00"}]', "total": "1.00",
             "currency": "PLN", "status": ("active", "abandoned", "reminded")[i % 3],
             "expires_at": then + timedelta(hours=72), "created_at": then,
             "updated_at": then} for i in range(count)]
    with kit.db.begin() as conn:
        conn.execute(sa.insert(tables.carts), rows)


@pytest.fixture(params=["expire", "delete"])
def small_batches(request: pytest.FixtureRequest, url: str,
                  sandbox: SandboxServer) -> Iterator[Commerce]:
    _truncate_commerce(url)
    app = Conveyor(url, clock=FrozenClock(), settings=FAST)
    fields: dict[str, Any] = {n: getattr(TEST_SETTINGS, n)
                              for n in TEST_SETTINGS.__dataclass_fields__}
    kit = Commerce(app, settings=CommerceSettings(
        **{**fields, "cart_batch": BATCH, "cart_cleanup_mode": request.param}))
    kit.accounts.add("shop", NUMBER, TOKEN, base_url=sandbox.url, send_rate=80)
    yield kit
    kit.close()
    app.close()


def test_old_carts_go_in_batches_while_reminders_flow(small_batches: Commerce,
                                                      sandbox: SandboxServer) -> None:
    kit, mode = small_batches, small_batches.settings.cart_cleanup_mode
    account = kit.accounts.get("shop")
    old_carts(kit, account.id, OLD)
    recent = [kit.carts.create("shop", f"4869{i:07d}", [{"name": "B", "quantity": 1,
                                                        "price": "5"}], currency="PLN").id
              for i in range(10)]
    advance(kit, 3601)
    assert kit.carts.scan()["abandoned"] == 10
    results: list[dict[str, Any]] = []
    cleaner = threading.Thread(target=lambda: results.append(kit.carts.cleanup()))
    cleaner.start()
    drain(kit)  # the reminders go out while the cleanup works through its batches
    cleaner.join()
    [result] = results
    assert (result["carts"], result["batches"], result["mode"]) == (OLD, 11, mode)
    assert [sends_to(sandbox, f"4869{i:07d}") for i in range(10)] == [1] * 10
    assert {kit.carts.get(c).status for c in recent} == {C.REMINDED}
    left = kit.carts.count(CartFilter(statuses=[C.EXPIRED]))
    assert left == (OLD if mode == "expire" else 0)
    assert kit.carts.count() == (OLD + 10 if mode == "expire" else 10)
    [kept] = kit.carts.cleanups()
    assert (kept["carts"], kept["batches"], kept["mode"]) == (OLD, 11, mode)
    again = kit.carts.cleanup()  # nothing left: a run that changes nothing is kept too
    assert (again["carts"], again["batches"]) == (0, 0)
    assert [run["carts"] for run in kit.carts.cleanups()] == [0, OLD]
