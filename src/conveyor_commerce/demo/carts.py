"""The demo's carts: a few customers' carts left idle (abandoned after the demo's short delay,
so their reminders go out within a minute), two ordered at once (with order notifications),
and one shopper who comes back after the reminder and orders (a recovered cart).

The demo's kit settings make carts abandoned after 20 s, scan every minute and skip quiet
hours (the demo may run at night); one more scan is enqueued to run just after the carts
become abandoned, so the first reminders do not wait for the minute.
"""

from __future__ import annotations

import dataclasses
import threading

from conveyor_commerce.carts.model import CartFilter, CartStatus
from conveyor_commerce.errors import CommerceError
from conveyor_commerce.kit import Commerce

IDLE = [f"48600300{n:03d}" for n in range(100, 105)]
ORDERING = ["48600300110", "48600300111"]
COMES_BACK = IDLE[0]
"""The shopper who orders after the reminder."""
BASKETS = [
    [{"name": "Espresso beans 1 kg", "quantity": 1, "price": "18.90", "sku": "COF-1"}],
    [{"name": "Moka pot", "quantity": 1, "price": "34.00", "sku": "MOK-6"},
     {"name": "Filter papers", "quantity": 3, "price": "2.50", "sku": "FIL-100"}],
    [{"name": "Milk frother", "quantity": 1, "price": "49.00", "sku": "FRO-2"}],
]


@dataclasses.dataclass(frozen=True, slots=True)
class CartsSample:
    idle: int
    ordered: int
    abandon_after: float

    def describe(self) -> str:
        return (f"carts              {self.idle} left idle (abandoned after "
                f"{self.abandon_after:.0f} s, then reminded), {self.ordered} ordered with "
                "order notifications, 1 shopper orders after the reminder")


def seed(kit: Commerce, account: str) -> CartsSample:
    carts = kit.carts
    for i, phone in enumerate(IDLE):
        carts.create(account, "+" + phone, BASKETS[i % len(BASKETS)], currency="EUR")
    for i, phone in enumerate(ORDERING):
        cart = carts.create(account, "+" + phone, BASKETS[i], currency="EUR")
        order_id = f"demo-{cart.id}"
        carts.mark_ordered(cart.id, order_id)
        carts.notify_order(order_id, "confirmed")
        carts.notify_order(order_id, "shipped")
    abandon_after = kit.settings.cart_abandon_after
    kit.jobs.scan_carts.options(delay=abandon_after + 2).enqueue()
    return CartsSample(len(IDLE), len(ORDERING), abandon_after)


def status(kit: Commerce) -> str:
    """Carts by status, for the demo's status line."""
    counts = {s: kit.carts.count(CartFilter(statuses=[s]))
              for s in (CartStatus.ACTIVE, CartStatus.ABANDONED, CartStatus.REMINDED,
                        CartStatus.RECOVERED, CartStatus.ORDERED)}
    return "carts: " + ", ".join(f"{n} {s.value}" for s, n in counts.items() if n)


class Shopper:
    """The customer who comes back: orders their cart once its reminder was sent."""

    def __init__(self, kit: Commerce, *, every: float = 2.0) -> None:
        self.kit = kit
        self.every = every
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-shopper", daemon=True)

    def start(self) -> Shopper:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stopped.wait(self.every):
            reminded = self.kit.carts.list(CartFilter(statuses=[CartStatus.REMINDED],
                                                      phone=COMES_BACK))
            for cart in reminded:
                try:
                    self.kit.carts.mark_ordered(cart.id, f"demo-{cart.id}")
                    self.kit.carts.notify_order(f"demo-{cart.id}", "confirmed")
                except CommerceError as exc:  # changed meanwhile: the next round looks again
                    print(f"shopper: cart {cart.id}: {exc}", flush=True)
