"""How the kit's pages reach a dashboard: offered through the `conveyor.web_pages` entry
point for an app that has the kit attached (and only then), served by a real
`conveyor --app ... dashboard` process; and the kit on the database `--url` names."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conveyor import Conveyor
from conveyor.web import discover_pages, start
from conveyor_commerce import Commerce
from tests.commerce import commerce_app
from tests.commerce.conftest import NUMBER, _truncate_commerce
from tests.web.conftest import configured

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "dashboard pw 7"


def test_the_kit_offers_its_pages_only_to_an_app_it_is_attached_to(app: Conveyor) -> None:
    assert "messages" not in [page.slug for page in discover_pages(app)]
    running = start(app, config=configured())
    try:  # the kit is not attached: its pages are not served, its tables not created
        assert "messages" not in _slugs(running)
    finally:
        running.stop()
    Commerce(app)
    assert "messages" in [page.slug for page in discover_pages(app)]
    running = start(app, config=configured())
    try:
        assert "messages" in _slugs(running)
    finally:
        running.stop()
    explicit = start(app, config=configured(), pages=[])
    try:  # pages given: exactly those
        assert _slugs(explicit) == []
    finally:
        explicit.stop()


def _slugs(running: object) -> list[str]:
    asgi = running.server.config.app  # type: ignore[attr-defined]
    return [page.slug for page in asgi.state.dashboard.pages]


@pytest.fixture
def served(url: str, tmp_path: Path) -> Iterator[str]:
    """`conveyor --app tests.commerce.commerce_app:app dashboard` on a free port, with one
    account in the kit's tables; yields its base URL."""
    _truncate_commerce(url)
    kit = commerce_app.test_side(url)
    kit.accounts.add("shop", NUMBER, "EAAG-served-token", base_url="http://127.0.0.1:9")
    kit.close()
    kit.app.close()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "CONVEYOR_URL": url, "PYTHONPATH": str(ROOT),
           "CONVEYOR_DASHBOARD_PASSWORD": PASSWORD}
    with (tmp_path / "dashboard.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "conveyor", "--app", commerce_app.APP, "dashboard",
             "--port", str(port)], cwd=ROOT, env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(base, process, tmp_path / "dashboard.log")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=15)


def _wait_for(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(f"{base}/login", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(f"the dashboard did not answer: {log.read_text()}")


def test_conveyor_dashboard_serves_the_kit_pages_of_the_app(served: str) -> None:
    with httpx.Client(base_url=served, timeout=10) as client:
        login = client.get("/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', login)
        assert token
        client.post("/login", data={"username": "admin", "password": PASSWORD,
                                    "csrf_token": token.group(1), "next": "/"})
        overview = client.get("/")
        assert overview.status_code == 200
        assert re.search(r'<a href="/messages/"[^>]*>Messages</a>', overview.text)
        assert 'id="messages-card"' in overview.text
        accounts = client.get("/messages/accounts")
        assert accounts.status_code == 200 and "<td>shop</td>" in accounts.text
        assert "EAAG-served-token" not in accounts.text
        assert client.get("/messages/new").status_code == 200


def test_the_kit_follows_the_database_url_given_with_app(tmp_path: Path) -> None:
    """`--url` with `--app` points the app elsewhere after its module attached the kit."""
    own, given = tmp_path / "own.db", tmp_path / "given.db"
    env = {**os.environ, "CONVEYOR_URL": f"sqlite:///{own}", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "conveyor", "--app", commerce_app.APP, "--url",
         f"sqlite:///{given}", "commerce", "accounts", "add", "shop", "--phone-number-id",
         NUMBER, "--token-stdin"], cwd=ROOT, env=env, input=b"EAAG-token\n",
        capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr.decode()
    assert not own.exists()
    app = Conveyor(f"sqlite:///{given}")
    try:
        assert [a.name for a in Commerce(app).accounts.list()] == ["shop"]
    finally:
        app.close()
