"""Jobs for the dashboard's browser tests, run by real `conveyor worker` processes
(`--app tests.web.browser_app:app`, storage from $CONVEYOR_URL). Tests declare the same
jobs on an app of their own database with `declare`."""

from __future__ import annotations

import asyncio
import os

from conveyor import Conveyor, Settings

SETTINGS = Settings(heartbeat_interval=0.2, lease_timeout=2.0, rescue_interval=0.3,
                    stage_interval=0.1)


def sync_product(product_id: int, shop_id: int = 1, token: str = "") -> dict[str, int]:
    """Push a product to a shop; negative ids fail."""
    if product_id < 0:
        raise ValueError(f"product {product_id} does not exist in shop {shop_id}")
    return {"product_id": product_id, "shop_id": shop_id}


def send_message(phone: str, text: str, api_key: str = "") -> None:
    """Send a text (the key is a secret: the dashboard masks it)."""


async def render_page(page: int) -> int:
    """A slow step of a batch, so its progress can be watched."""
    await asyncio.sleep(0.3)
    return page


def notify(account_id: int, text: str) -> None:
    """A rate-limited job: its keys show on the Limits page."""


def declare(app: Conveyor) -> Conveyor:
    sync = app.job(name="sync_product", queue="sync", max_attempts=1)(sync_product)
    send = app.job(name="send_message", queue="messages", priority=1)(send_message)
    app.job(name="render_page", queue="render")(render_page)
    app.job(name="notify", queue="notify", rate_limit="20/s",
            rate_key=lambda account_id, **_: f"wa:{account_id}")(notify)
    app.cron("*/15 * * * *", sync, args=(1,), name="catalog-refresh")
    app.cron("0 3 * * *", send, args=("+48600000000", "nightly report"),
             name="nightly-report", tz="Europe/Warsaw")
    return app


app = declare(Conveyor(os.environ.get("CONVEYOR_URL", "sqlite:///browser-tests.db"),
                       settings=SETTINGS))
