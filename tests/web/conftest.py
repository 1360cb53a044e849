"""Fixtures for the dashboard tests: a shop app with jobs on each backend, dashboard users
(an admin and a read-only one), and a logged-in HTTP client (Starlette's TestClient)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from conveyor import Conveyor
from conveyor.web import Account, DashboardConfig, Role, create_app

ADMIN, VIEWER, PASSWORD = "ann", "rob", "correct horse battery"
# Hashed once per run: scrypt is slow on purpose.
ACCOUNTS = (Account.with_password(ADMIN, PASSWORD),
            Account.with_password(VIEWER, PASSWORD, Role.READ_ONLY))
SECRET = "s3cr3t-token-value"
HOSTILE_SCRIPT = "<script>alert(1)</script>"
HOSTILE_IMG = '"><img src=x onerror=alert(1)>'


def configured(**overrides: object) -> DashboardConfig:
    return DashboardConfig(users=ACCOUNTS, secret_key="test-secret", **overrides)  # type: ignore[arg-type]


@pytest.fixture
def shop(app: Conveyor) -> Conveyor:
    """Jobs: 1 discarded (hostile error), 2 available (secret kwarg), 3 scheduled,
    4 available with hostile arguments."""
    @app.job(name="sync_product", queue="sync", max_attempts=1)
    def sync_product(product_id: object, shop_id: int = 1, token: str = "") -> None:
        if product_id == -1:
            raise ValueError(f"bad product {HOSTILE_IMG} {HOSTILE_SCRIPT}")

    sync_product.enqueue(-1)
    app.drain()
    sync_product.enqueue(2, token=SECRET)
    sync_product.options(delay=600).enqueue(3)
    sync_product.enqueue(HOSTILE_SCRIPT, shop_id=4, token=HOSTILE_IMG)
    return app


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def log_in(client: TestClient, name: str = ADMIN, password: str = PASSWORD) -> str:
    """Log in through the form; returns the CSRF token of the session."""
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"username": name, "password": password,
                                           "csrf_token": token, "next": "/"},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    return token


@pytest.fixture
def anonymous(shop: Conveyor) -> Iterator[TestClient]:
    with TestClient(create_app(shop, config=configured())) as client:
        yield client


@pytest.fixture
def admin(anonymous: TestClient) -> tuple[TestClient, str]:
    return anonymous, log_in(anonymous)


@pytest.fixture
def viewer(anonymous: TestClient) -> tuple[TestClient, str]:
    return anonymous, log_in(anonymous, VIEWER)


@pytest.fixture(scope="module")
def browser(request: pytest.FixtureRequest) -> Iterator[Any]:
    """One headless chromium per test module (two modules use it). Not per session:
    Playwright's synchronous API keeps an event loop running in the main thread while it is
    open, and the suites after this one run their own loops there. The PostgreSQL database
    is made first for the same reason: its set-up runs an event loop."""
    from tests.web import live

    with contextlib.suppress(pytest.skip.Exception):
        request.getfixturevalue("pg_url")
    yield from live.launch()


@pytest.fixture
def dashboard(url: str, browser: Any) -> Iterator[Any]:
    """A dashboard served on 127.0.0.1 for an app on this test's database, and a fresh
    browser tab (its own cookies)."""
    from tests.web import live

    app = live.dashboard_app(url)
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(15_000)
    served = live.Live(app, context.new_page())
    try:
        yield served
    finally:
        served.close()
        context.close()
        app.close()
