"""The README's first command: the demo starts on a database of its own, serves the dashboard
(login admin / demo), processes the sample jobs of every system in it, and stops cleanly on
Ctrl-C (SIGINT) or SIGTERM: exit code 0 and no process left behind. On SQLite and
PostgreSQL (one signal each)."""

from __future__ import annotations

import secrets
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from conveyor import Conveyor, JobState
from conveyor_commerce import Commerce, MessageFilter, MessageStatus
from conveyor_commerce.demo import whatsapp
from tests.conftest import PG_ADMIN, _pg_url
from tests.demo.running import Demo, alive, descendants, free_port, log_in, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(150)]
M = MessageStatus
SENDABLE = len(whatsapp.CUSTOMERS) + 1  # the customers, and the one a 502 delays once
FAILING = {whatsapp.NOT_ON_WHATSAPP, whatsapp.FLAKY_TWICE, whatsapp.CLOSED_WINDOW}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def demo_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database the demo has never seen: a new SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'demo.db'}"
        return
    try:
        admin = psycopg.connect(make_conninfo(PG_ADMIN, connect_timeout=5), autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    name = f"conveyor_demo_{secrets.token_hex(4)}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield _pg_url(name)
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_demo_runs_every_system_and_stops_cleanly(demo_url: str) -> None:
    demo = Demo({"CONVEYOR_URL": demo_url, "CONVEYOR_DEMO_PORT": str(free_port())})
    app = Conveyor(demo_url)
    kit = Commerce(app)
    tree: set[int] = set()
    try:
        dashboard = demo.address("dashboard")
        assert "(login: admin / demo)" in demo.output()
        sandbox = demo.address("WhatsApp sandbox")
        client = log_in(dashboard, "demo")
        tree = workers = _workers_started(demo)

        _whatsapp_flowed(demo, kit, sandbox)
        _plain_jobs_flowed(demo, app)
        _dashboard_shows(client)
        client.close()

        tree = descendants(demo.process.pid)
        assert workers <= tree
        signum = signal.SIGINT if demo_url.startswith("sqlite") else signal.SIGTERM
        assert demo.stop(signum) == 0, demo.output()
        left = sorted(pid for pid in tree if alive(pid))
        assert left == [], f"processes left after the demo stopped: {left}"
        assert "stopping the dashboard and the sandboxes" in demo.output()
    finally:
        demo.kill(tree)
        kit.close()
        app.close()


def _workers_started(demo: Demo) -> set[int]:
    """The supervisor and its 2 worker processes, seen from /proc."""
    wait_for(lambda: len(descendants(demo.process.pid)) >= 3, 30,
             "the worker supervisor and 2 worker processes", demo.output)
    return descendants(demo.process.pid)


def _whatsapp_flowed(demo: Demo, kit: Commerce, sandbox: str) -> None:
    """Messages went out to the sandbox, the planned ones failed, statuses came back."""
    def settled() -> bool:
        return (kit.messages.count(MessageFilter(statuses=[M.SENT])) >= SENDABLE
                and kit.messages.count(MessageFilter(statuses=[M.FAILED])) == len(FAILING))

    wait_for(settled, 60, "the sample messages to be sent or failed", demo.output)
    accepted = {record["to"] for record in httpx.get(f"{sandbox}/_sandbox/sent").json()}
    assert set(whatsapp.CUSTOMERS) | {whatsapp.BAD_GATEWAY_ONCE} <= accepted
    failed = kit.messages.list(MessageFilter(statuses=[M.FAILED]))
    assert {m.recipient for m in failed} == FAILING
    assert kit.messages.count(MessageFilter(statuses=[M.PENDING])) == 2  # due in 15 min, 2 h
    wait_for(lambda: any(m.delivery_status is not None
                         for m in kit.messages.list(MessageFilter(statuses=[M.SENT]))),
             30, "a delivery status through the webhook", demo.output)


def _plain_jobs_flowed(demo: Demo, app: Conveyor) -> None:
    """The example's own jobs: the batch of 60 (8 retried once) finished with its callback,
    the chain of 3 ran, the bad input was discarded."""
    def finished() -> bool:
        return any(b.name == "Gallery thumbnails" and b.finished for b in app.batches())

    wait_for(finished, 60, "the thumbnails batch to finish", demo.output)
    wait_for(lambda: app.counts().get(("media", JobState.COMPLETED), 0) == 60 + 1 + 3, 30,
             "the batch's callback and the chain", demo.output)
    assert app.counts().get(("media", JobState.DISCARDED), 0) == 1


def _dashboard_shows(client: httpx.Client) -> None:
    overview = client.get("/")
    assert overview.status_code == 200 and "WhatsApp messages" in overview.text
    failed = client.get("/messages/", params={"status": "failed"})
    assert failed.status_code == 200
    assert f"+{whatsapp.NOT_ON_WHATSAPP}" in failed.text
