"""Fixtures of the commerce kit's tests: a WhatsApp sandbox on 127.0.0.1, and the kit on each
backend's database (the engine's `url` fixture) with its own tables emptied.

The kit's tables are named `commerce_*`, so the engine's per-test truncation leaves them
alone; `_truncate_commerce` empties them (and restarts their ids) before each test.

Tests written with the conveyor pytest plugin's fixtures (`test_with_testing_helpers.py`) run
on PostgreSQL too: the plugin adds it when `CONVEYOR_TEST_PG` names a server, defaulted here
to the server the rest of the suite uses (as examples/conftest.py does).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import uvicorn

from conveyor import Conveyor, FrozenClock, JobState
from conveyor_commerce import Commerce, CommerceSettings
from conveyor_commerce.sandbox import SandboxServer
from conveyor_commerce.whatsapp.accounts import Account
from tests.conftest import FAST, PG_ADMIN

os.environ.setdefault("CONVEYOR_TEST_PG", PG_ADMIN)

NUMBER = "106540352242922"
TOKEN = "EAAG-sandbox-token-1"
SENTINEL = "EAAG-SENTINEL-TOKEN-7c1f9e"
"""A token that must appear in no log, row, listing, error or CLI output."""
TEST_SETTINGS = CommerceSettings(min_lead=0, backoff=(60.0, 300.0, 900.0), ambiguous_grace=30,
                                 http_timeout=1.0, stopped_recheck=30, quiet_hours=None)


def _truncate_commerce(url: str) -> None:
    if not url.startswith("postgres"):
        return
    with psycopg.connect(url, autocommit=True) as conn:
        tables = [row[0] for row in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
            "AND tablename LIKE 'commerce%' AND tablename <> 'commerce_migrations'")]
        if tables:
            conn.execute("TRUNCATE " + ", ".join(tables) + " RESTART IDENTITY CASCADE")


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        server.state.add_number(NUMBER, TOKEN)
        yield server


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def kit(url: str, clock: FrozenClock) -> Iterator[Commerce]:
    """The kit on a fresh app with a frozen clock (drain with `kit.app.drain()`)."""
    _truncate_commerce(url)
    app = Conveyor(url, clock=clock, settings=FAST)
    commerce = Commerce(app, settings=TEST_SETTINGS)
    yield commerce
    commerce.close()
    app.close()


@pytest.fixture
def account(kit: Commerce, sandbox: SandboxServer) -> Account:
    return kit.accounts.add("shop", NUMBER, TOKEN, base_url=sandbox.url, send_rate=80,
                            display_number="15550783881")


def sends_to(sandbox: SandboxServer, recipient: str) -> int:
    return sum(1 for record in sandbox.state.sent_log() if record.to.lstrip("+") == recipient)


def drain(kit: Commerce, *, rounds: int = 40) -> int:
    """Run every due job; while jobs stay available only because their account's rate key
    spaces them (the clock is frozen), move the clock one second and go on."""
    queue, total = kit.settings.queue, 0
    for _ in range(rounds):
        total += kit.app.drain([queue])
        if kit.app.counts().get((queue, JobState.AVAILABLE), 0) == 0:
            break
        advance(kit, 1.0)
    return total


def advance(kit: Commerce, seconds: float) -> None:
    clock = kit.app.clock
    assert isinstance(clock, FrozenClock)
    clock.advance(seconds)


def job_state(kit: Commerce, job_id: int | None) -> Any:
    assert job_id is not None
    return kit.app.get(job_id).state


@contextlib.contextmanager
def served(asgi: Any) -> Iterator[str]:
    """Serve an ASGI app with uvicorn on a free 127.0.0.1 port; yields its base URL."""
    server = uvicorn.Server(uvicorn.Config(asgi, host="127.0.0.1", port=0,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "the server did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=5)
