"""Real worker processes: every abandoned cart gets exactly one reminder - counted in the
sandbox's own log of received sends - under two overlapping scans, a third one later, and a
worker restarted while reminders are going out."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import pytest

from conveyor import JobFilter
from conveyor_commerce import CartFilter, CartStatus, Commerce
from conveyor_commerce.jobs import REMIND_CART
from conveyor_commerce.sandbox import SandboxServer
from tests.chaos import harness
from tests.commerce import commerce_app
from tests.commerce.conftest import NUMBER, TOKEN
from tests.commerce.test_processes import side  # noqa: F401  (fixture)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
CARTS = 30


def test_one_reminder_per_cart_across_overlapping_scans_and_a_restart(
        url: str, side: Commerce, sandbox: SandboxServer, tmp_path: Path) -> None:  # noqa: F811
    side.accounts.add("shop", NUMBER, TOKEN, base_url=sandbox.url, send_rate=40)
    phones = [f"486003{i:05d}" for i in range(CARTS)]
    carts = [side.carts.create("shop", phone, [{"name": "Mug", "quantity": 1,
                                                "price": "9.90"}], currency="PLN").id
             for phone in phones]
    time.sleep(commerce_app.KIT_SETTINGS.cart_abandon_after + 0.1)
    supervisor = harness.Supervisor(url, tmp_path / "ledger.db", tmp_path / "workers.log", 1,
                                    "--queues", "whatsapp", "--concurrency", "8",
                                    app=commerce_app.APP)
    scans: list[int] = []
    threads = [threading.Thread(target=lambda: scans.append(side.carts.scan()["abandoned"]))
               for _ in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        harness.wait_for(lambda: len(sandbox.state.sent_log()) >= 5, 60, "5 reminders sent")
        supervisor.send(0, signal.SIGTERM)  # restart while reminders are going out
        assert supervisor.workers[0].wait(timeout=30) == 0
        sent_at_restart = len(sandbox.state.sent_log())
        scans.append(side.carts.scan()["abandoned"])
        supervisor.restart()
        reminded = CartFilter(statuses=[CartStatus.REMINDED])
        harness.wait_for(lambda: side.carts.count(reminded) == CARTS, 90, "every cart reminded")
    finally:
        codes = supervisor.stop()
    assert codes == [0] and sum(scans) == CARTS and scans[-1] == 0
    assert sent_at_restart < CARTS  # the restart came while reminders were still due
    received = [record.to.lstrip("+") for record in sandbox.state.sent_log()]
    assert sorted(received) == sorted(phones)  # each customer exactly once
    jobs = side.app.jobs(JobFilter(names=[REMIND_CART], limit=10 * CARTS))
    assert sorted(j.kwargs["cart_id"] for j in jobs) == sorted(carts)  # one job per cart
    assert all(side.carts.get(c).reminder_sent_at is not None for c in carts)
    print(f"\n[{url.split(':')[0]}] {CARTS} carts, scans {scans}, restart after "
          f"{sent_at_restart} reminders: {len(received)} received, {len(jobs)} reminder jobs")
