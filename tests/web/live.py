"""The browser tests' world: Debian's chromium driven by Playwright, a dashboard served by
uvicorn on 127.0.0.1 (a random port, in a thread), and real `conveyor worker` processes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from conveyor import Conveyor
from conveyor.web import start
from tests.web import browser_app
from tests.web.conftest import ADMIN, PASSWORD, SECRET, configured

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = "CONVEYOR_SCREENSHOTS"
"""The variable naming where screenshots go instead of a test's temporary directory (a path
relative to the repository, or absolute): `CONVEYOR_SCREENSHOTS=docs/screenshots` refreshes
the committed copies the docs show."""


def launch() -> Iterator[Browser]:
    if not os.path.exists(CHROMIUM):
        message = f"{CHROMIUM} is missing (scripts/setup installs Debian's chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        # Playwright gives every launch a fresh temporary profile (its --user-data-dir).
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


def screenshots(tmp_path: Path) -> Path:
    """Where a test saves its screenshots: its temporary directory, so a test run leaves the
    checkout as it was, unless `$CONVEYOR_SCREENSHOTS` names a folder (see `SCREENSHOTS`)."""
    wanted = os.environ.get(SCREENSHOTS)
    folder = ROOT / wanted if wanted else tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def dashboard_app(url: str) -> Conveyor:
    """An app on `url` with the browser test jobs and schedules (system clock: real workers
    run next to it)."""
    return browser_app.declare(Conveyor(url, settings=browser_app.SETTINGS))


def seed(app: Conveyor) -> dict[str, list[int]]:
    """2 failed and 4 completed sync jobs, 3 available ones (one with a secret), 1 scheduled,
    2 messages waiting. Returns the ids by kind."""
    sync, send = app.registry.get("sync_product"), app.registry.get("send_message")
    failed = [sync.enqueue(-1).id, sync.enqueue(-2, shop_id=2).id]
    done = [sync.enqueue(n).id for n in range(5, 9)]
    app.drain(queues=["sync"])
    waiting = [sync.enqueue(10, token=SECRET).id, sync.enqueue(11).id, sync.enqueue(12).id]
    later = [sync.options(delay=3600).enqueue(20).id]
    messages = [send.enqueue("+48600100200", "Your cart <b>awaits</b>", api_key=SECRET).id,
                send.enqueue("+48600100201", "Back in stock", api_key=SECRET).id]
    return {"failed": failed, "done": done, "waiting": waiting, "later": later,
            "messages": messages}


def start_worker(url: str, queues: str, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CONVEYOR_URL": url, "PYTHONPATH": str(ROOT)}
    with log.open("ab") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "conveyor", "--app", "tests.web.browser_app:app", "worker",
             "--queues", queues, "--concurrency", "1"], cwd=ROOT, env=env, stderr=stderr)


class Live:
    """A served dashboard and a browser tab on it."""

    def __init__(self, app: Conveyor, page: Page) -> None:
        self.app, self.page = app, page
        self.server = start(app, config=configured())
        self.url = self.server.url

    def goto(self, path: str) -> None:
        self.page.goto(self.url + path)

    def log_in(self, name: str = ADMIN, password: str = PASSWORD, path: str = "/") -> None:
        self.goto(path)
        self.page.fill("input[name=username]", name)
        self.page.fill("input[name=password]", password)
        self.page.click("button[type=submit]")
        self.page.wait_for_selector("#role")

    def notice(self) -> str:
        return self.page.inner_text("#notice")

    def close(self) -> None:
        self.page.close()
        self.server.stop()
