"""The messages pages in a real headless chromium (the dashboard tests' Playwright set-up):
schedule a message from the form - first refused inline, then with a quick offset - and see it
listed, on both backends; and the screenshots of the pages for the README, without a single
console error (so without a Content-Security-Policy violation)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from conveyor import Conveyor, FrozenClock
from conveyor_commerce import Commerce, MessageFilter, MessageStatus, Template
from conveyor_commerce.sandbox import SandboxServer
from tests.commerce.conftest import NUMBER, SENTINEL, TEST_SETTINGS, drain
from tests.conftest import FAST
from tests.web.live import Live, screenshots


@pytest.fixture(scope="module")
def browser(request: pytest.FixtureRequest) -> Iterator[Any]:
    """One headless chromium for this module (see tests/web/conftest.py for why not one per
    session, and why the PostgreSQL database is made first)."""
    from tests.web import live

    with contextlib.suppress(pytest.skip.Exception):
        request.getfixturevalue("pg_url")
    yield from live.launch()


@contextlib.contextmanager
def served(kit: Commerce, browser: Any) -> Iterator[tuple[Live, list[str]]]:
    """The dashboard of the kit's app (its pages found through the entry point) in a fresh
    browser tab; yields it and the console errors seen."""
    context = browser.new_context(viewport={"width": 1400, "height": 860})
    context.set_default_timeout(15_000)
    live = Live(kit.app, context.new_page())
    errors: list[str] = []
    live.page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        yield live, errors
    finally:
        live.close()
        context.close()


def test_schedule_a_message_from_the_form_and_see_it_listed(
        kit: Commerce, sandbox: SandboxServer, browser: Any) -> None:
    sandbox.state.set_token(NUMBER, SENTINEL)
    kit.accounts.add("shop", NUMBER, SENTINEL, base_url=sandbox.url)
    with served(kit, browser) as (live, errors):
        live.log_in(path="/messages/new")
        page = live.page
        page.fill("input[name=to]", "+48 600 1")
        page.fill("textarea[name=text]", "Your order <A-17> is on its way")
        page.check('input[data-quick="+30m"]')
        page.click("#schedule button[type=submit]")
        assert "not a valid international number" in page.inner_text("#error-to")
        assert page.input_value("textarea[name=text]") == "Your order <A-17> is on its way"
        assert kit.messages.count() == 0
        page.fill("input[name=to]", "+48 600 100 250")
        page.click("#schedule button[type=submit]")
        assert live.notice().startswith("Scheduled message ")
        [message] = kit.messages.list()
        assert message.scheduled_at == kit.now() + timedelta(minutes=30)
        page.click("#messages-nav >> text=All messages")
        row = page.locator(f'#messages tr[data-message="{message.id}"]')
        assert row.get_attribute("data-status") == MessageStatus.PENDING.value
        assert "Your order <A-17> is on its way" in row.inner_text()
        assert "+48600100250" in row.inner_text()
        assert SENTINEL not in page.content()
        refusal = "Failed to load resource: the server responded with a status of 400 (Bad " \
                  "Request)"
        assert errors == [refusal]  # the refused form's answer, and nothing else


def _showcase(kit: Commerce, sandbox: SandboxServer) -> None:
    """A shop's week: sent and delivered messages, a failure of each kind, messages waiting
    for later, one cancelled, and a second number stopped by an expired token."""
    kit.accounts.add("shop", NUMBER, "EAAG-shot", base_url=sandbox.url, send_rate=10,
                     display_number="+48 22 100 20 30")
    sandbox.state.add_number("206540352242922", "EAAG-shot-2")
    kit.accounts.add("support", "206540352242922", "EAAG-shot-2", base_url=sandbox.url,
                     display_number="+48 22 100 20 31")
    sandbox.state.inject("error", code=131000, recipient="48600100204")
    sandbox.state.inject("error", code=131026, recipient="48600100205")
    send = kit.messages.schedule
    for n, name in enumerate(("Alex", "Maria", "Jan", "Ewa")):
        send("shop", f"+48 600 100 20{n}", Template("order_update", "en_US",
                                                    body=[name, f"A-10{n}"]), offset=0)
    send("shop", "+48 600 100 204", "Your parcel is waiting at the pickup point", offset=0,
         max_retries=0)
    send("shop", "+48 600 100 205", "Thanks for your order!", offset=0, max_retries=0)
    drain(kit)
    sandbox.state.expire_token("206540352242922")
    send("support", "+48 600 100 206", "We have answered your question", offset=0)
    kit.app.drain([kit.settings.queue])
    send("shop", "+48 600 100 207", "Your cart is waiting: 2 items", offset="+30m")
    send("shop", "+48 600 100 208", Template("cart_reminder", "en_US", header=["Shoes"],
                                             body=["running shoes"]), offset="+1h")
    send("shop", "+48 600 100 209", "Back in stock: the blue kettle", offset="+1d")
    kit.messages.cancel(send("shop", "+48 600 100 210", "Flash sale tonight", offset="+1h").id)


def test_screenshots_of_the_messages_pages(browser: Any, tmp_path: Path) -> None:
    app = Conveyor(f"sqlite:///{tmp_path / 'shots.db'}", clock=FrozenClock(), settings=FAST)
    kit = Commerce(app, settings=TEST_SETTINGS)
    try:
        with SandboxServer() as sandbox, served(kit, browser) as (live, errors):
            sandbox.state.add_number(NUMBER, "EAAG-shot")
            _showcase(kit, sandbox)
            [failed] = [m.id for m in kit.messages.list(
                MessageFilter(statuses=[MessageStatus.FAILED], error_codes=[131000]))]
            live.log_in(path="/messages/")
            shots = [("messages", "/messages/"), ("messages-schedule", "/messages/new"),
                     ("messages-accounts", "/messages/accounts"),
                     ("message-failed", f"/messages/{failed}")]
            folder = screenshots(tmp_path)
            for name, path in shots:
                live.goto(path)
                live.page.wait_for_load_state("networkidle")
                live.page.screenshot(path=folder / f"{name}.png", full_page=True)
                if name == "messages-accounts":
                    assert live.page.locator('tr[data-account-status="stopped"]').count() == 1
            assert errors == []
        for name, _ in shots:
            assert (folder / f"{name}.png").stat().st_size > 10_000, name
    finally:
        kit.close()
        app.close()
