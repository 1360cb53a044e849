"""The world of the messages pages' tests: the kit with two accounts whose tokens are
sentinels (one stopped by an expired token, with a hostile name), and one message in each
status - sent, failed (retryable and hopeless), pending (a hostile text, a template with a
hostile parameter), waiting on the stopped account, cancelled - made by really sending them
to the sandbox; and a dashboard client logged in as an admin or a read-only user."""

from __future__ import annotations

import contextlib
import dataclasses
import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from starlette.testclient import TestClient

from conveyor import FrozenClock
from conveyor.web import create_app
from conveyor_commerce import Commerce, Template
from conveyor_commerce import web as commerce_web
from conveyor_commerce.sandbox import SandboxServer
from tests.commerce.conftest import NUMBER, SENTINEL, drain
from tests.web.conftest import HOSTILE_IMG, HOSTILE_SCRIPT, configured, log_in

OTHER_NUMBER = "206540352242922"
OTHER_SENTINEL = SENTINEL + "-other"
HOSTILE_ACCOUNT = "<b>ops</b>" + HOSTILE_IMG


@dataclasses.dataclass(frozen=True)
class Scene:
    shop: int
    stopped: int
    sent: int
    failed: int
    hopeless: int
    hostile: int
    template: int
    waiting: int
    cancelled: int

    def ids(self) -> list[int]:
        return [getattr(self, f.name) for f in dataclasses.fields(self)][2:]


def clock() -> FrozenClock:
    """Now, or an hour later in the day's last hour: "sent today" must stay today."""
    now = datetime.now(UTC)
    return FrozenClock(now + timedelta(hours=1) if now.hour == 23 else now)


def build(kit: Commerce, sandbox: SandboxServer) -> Scene:
    sandbox.state.set_token(NUMBER, SENTINEL)
    sandbox.state.add_number(OTHER_NUMBER, OTHER_SENTINEL)
    shop = kit.accounts.add("shop", NUMBER, SENTINEL, base_url=sandbox.url, send_rate=80,
                            display_number="15550783881")
    other = kit.accounts.add(HOSTILE_ACCOUNT, OTHER_NUMBER, OTHER_SENTINEL,
                             base_url=sandbox.url)
    sandbox.state.inject("error", code=131000, recipient="48600100201")
    sandbox.state.inject("error", code=131026, recipient="48600100202")
    schedule = kit.messages.schedule
    sent = schedule("shop", "+48 600 100 200", "Your order shipped", offset=0)
    failed = schedule("shop", "+48 600 100 201", "Back in stock", offset=0, max_retries=0)
    hopeless = schedule("shop", "+48 600 100 202", "Hello?", offset=0, max_retries=0)
    drain(kit)
    sandbox.state.expire_token(OTHER_NUMBER)
    waiting = schedule(other.id, "+48 600 100 205", "Waits for a token", offset=0)
    kit.app.drain([kit.settings.queue])
    hostile = schedule("shop", "+48 600 100 203", HOSTILE_SCRIPT, offset="+1h")
    template = schedule("shop", "+48 600 100 204",
                        Template("order_update", "en_US", body=[HOSTILE_IMG, "A1"]),
                        offset="+1h")
    cancelled = kit.messages.cancel(schedule("shop", "+48 600 100 206", "Never mind",
                                             offset="+1h").id)
    return Scene(shop.id, other.id, sent.id, failed.id, hopeless.id, hostile.id, template.id,
                 waiting.id, cancelled.id)


@contextlib.contextmanager
def dashboard(kit: Commerce, user: str | None = None) -> Iterator[tuple[TestClient, str]]:
    """A dashboard with the kit's pages; logged in as `user` (None: nobody) with the
    session's CSRF token (empty when nobody)."""
    asgi = create_app(kit.app, pages=commerce_web.pages(), config=configured())
    with TestClient(asgi) as client:
        yield client, (log_in(client, user) if user else "")


def row_ids(page: str) -> list[int]:
    """The message ids listed on a list page, in order."""
    return [int(found) for found in re.findall(r'<tr data-message="(\d+)"', page)]


def link(page: str, element_id: str) -> str:
    """The target of the link with this id (entities decoded)."""
    found = re.search(rf'<a href="([^"]+)" id="{element_id}"', page)
    assert found, f"no link #{element_id}"
    return html.unescape(found.group(1))


def notice(page: str) -> str:
    found = re.search(r'id="notice">([^<]*)<', page)
    return html.unescape(found.group(1)) if found else ""
