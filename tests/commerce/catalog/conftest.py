"""Fixtures of the catalog sync tests: a sandbox shop, the kit on each backend with a
real clock (shop rates space jobs in real time) and fast retries, and `settle`, which runs
the catalog's jobs in this process until none is left to run."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from conveyor import Conveyor, JobState
from conveyor_commerce import Commerce
from conveyor_commerce.catalog.model import CatalogSettings, Shop
from conveyor_commerce.sandbox.prestashop import PrestaShopSandbox
from tests.commerce.conftest import TEST_SETTINGS, _truncate_commerce
from tests.conftest import FAST

KEY = "SENTINELKEY7c1f9eSENTINELKEY7c1f"
"""The shop's Webservice key: must appear in no row, listing, log, job or CLI output."""
CATALOG = CatalogSettings(backoff=(0.05, 0.1, 0.2), shop_concurrency=16, http_timeout=5.0,
                          nightly_cron=None, retry_cron=None)
LIVE = (JobState.PENDING, JobState.SCHEDULED, JobState.AVAILABLE, JobState.RUNNING,
        JobState.RETRYABLE)


@pytest.fixture
def shop_server() -> Iterator[PrestaShopSandbox]:
    with PrestaShopSandbox() as server:
        server.shop.keys.add(KEY)
        yield server


@pytest.fixture
def catalog_kit(url: str) -> Iterator[Commerce]:
    _truncate_commerce(url)
    app = Conveyor(url, settings=FAST)
    kit = Commerce(app, settings=TEST_SETTINGS, catalog=CATALOG)
    yield kit
    kit.close()
    app.close()


@pytest.fixture
def shop(catalog_kit: Commerce, shop_server: PrestaShopSandbox) -> Shop:
    return catalog_kit.catalog.add_shop("main", shop_server.url, KEY, rate_limit="5000/s",
                                        timezone="Europe/Warsaw")


def settle(kit: Commerce, timeout: float = 30.0, concurrency: int = 32) -> int:
    """Run due catalog jobs until none waits (retries are due a fraction of a second later)."""
    queues = [kit.catalog.settings.queue, kit.catalog.settings.high_queue]
    deadline, ran = time.monotonic() + timeout, 0
    while time.monotonic() < deadline:
        ran += kit.app.drain(queues, concurrency=concurrency)
        counts = kit.app.counts()
        if not any(counts.get((q, s), 0) for q in queues for s in LIVE):
            return ran
        time.sleep(0.05)
    raise AssertionError(f"catalog jobs still waiting after {timeout}s: {kit.app.counts()}")
