"""Configuring and embedding the dashboard: users from the environment, password hashes,
refusing an exposed address without a password, mounting under a prefix, an auth callable,
and the extension point other packages add pages through."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from conveyor import ConfigurationError, Conveyor
from conveyor.cli import context
from conveyor.cli.main import cli
from conveyor.web import (
    Card,
    DashboardConfig,
    Page,
    Role,
    User,
    conveyor_of,
    create_app,
    passwords,
    redirect,
    render,
    server,
)
from tests.web.conftest import ACCOUNTS, ADMIN, PASSWORD, configured, csrf_of, log_in

STATIC = Path(__file__).parents[2] / "src/conveyor/web/static"


def test_passwords_hash_with_scrypt_and_verify() -> None:
    # A space never occurs in the base64 salt or hash, so "in stored" cannot match by chance.
    secret = "open sesame"
    stored = passwords.hash_password(secret)
    assert stored.startswith("scrypt$16384$8$1$") and secret not in stored
    assert passwords.verify_password(secret, stored)
    assert not passwords.verify_password("open Sesame", stored)
    assert stored != passwords.hash_password(secret)  # salted
    with pytest.raises(ConfigurationError, match="hash-password"):
        passwords.verify_password("pw", "plain-text-password")


def test_users_from_the_environment() -> None:
    hashed = passwords.hash_password("viewer pw")
    config = DashboardConfig.from_env({
        "CONVEYOR_DASHBOARD_USERS": f"rob:read-only:{hashed}",
        "CONVEYOR_DASHBOARD_PASSWORD": "admin pw", "CONVEYOR_DASHBOARD_SECRET": "k",
        "CONVEYOR_DASHBOARD_REFRESH": "10"})
    assert [(a.name, a.role) for a in config.users] == [("rob", Role.READ_ONLY),
                                                        ("admin", Role.ADMIN)]
    assert passwords.verify_password("admin pw", config.users[1].password_hash)
    assert (config.secret_key, config.refresh_seconds) == ("k", 10)
    assert "admin pw" not in repr(config) and "k'" not in repr(config)
    with pytest.raises(ConfigurationError, match="role 'boss'"):
        DashboardConfig.from_env({"CONVEYOR_DASHBOARD_USERS": f"x:boss:{hashed}"})
    with pytest.raises(ConfigurationError, match="scrypt"):
        DashboardConfig.from_env({"CONVEYOR_DASHBOARD_USERS": "x:admin:hunter2"})


def test_refuses_an_exposed_address_without_a_password(app: Conveyor) -> None:
    with pytest.raises(ConfigurationError, match="CONVEYOR_DASHBOARD_PASSWORD"):
        server.ready_config("0.0.0.0", DashboardConfig(), None, print)
    announced: list[str] = []
    local = server.ready_config("127.0.0.1", DashboardConfig(), None, announced.append)
    assert [a.name for a in local.users] == ["admin"] and "admin / " in announced[0]
    assert server.ready_config("0.0.0.0", configured(), None, print).users == ACCOUNTS
    assert server.is_loopback("::1") and not server.is_loopback("example.com")
    obj = context.CliContext(app_spec=None, url=None, _app=app)
    result = CliRunner(env={"CONVEYOR_DASHBOARD_PASSWORD": "", "CONVEYOR_DASHBOARD_USERS": ""}
                       ).invoke(cli, ["dashboard", "--host", "0.0.0.0"], obj=obj)
    assert result.exit_code == 1
    assert "refusing to serve the dashboard on 0.0.0.0 without a password" in result.output
    with pytest.raises(ConfigurationError, match="at least one user"):
        create_app(app, config=DashboardConfig())


def test_mounted_under_a_prefix(shop: Conveyor) -> None:
    outer = Starlette(routes=[Mount("/ops/queue", app=create_app(shop, config=configured()))])
    with TestClient(outer) as client:
        first = client.get("/ops/queue/jobs", follow_redirects=False)
        assert first.headers["location"] == "/ops/queue/login?next=/jobs"
        token = csrf_of(client.get("/ops/queue/login").text)
        logged = client.post("/ops/queue/login", data={
            "username": ADMIN, "password": PASSWORD, "csrf_token": token, "next": "/jobs"},
            follow_redirects=False)
        assert logged.headers["location"] == "/ops/queue/jobs"
        assert "Path=/ops/queue" in logged.headers["set-cookie"]
        page = client.get("/ops/queue/jobs").text
        assert 'href="/ops/queue/jobs/2"' in page
        assert 'src="/ops/queue/static/htmx-2.0.11.min.js"' in page


def test_auth_callable_for_an_existing_login(shop: Conveyor) -> None:
    def auth(request: Request) -> User | None:
        name = request.headers.get("x-user")
        return User(name, Role.READ_ONLY if name == "guest" else Role.ADMIN) if name else None

    with TestClient(create_app(shop, auth=auth, config=DashboardConfig())) as client:
        assert client.get("/jobs").status_code == 401
        assert client.get("/login").status_code == 404
        page = client.get("/jobs", headers={"x-user": "sso:carol"})
        assert page.status_code == 200 and "sso:carol" in page.text
        token = csrf_of(page.text)
        done = client.post("/actions", data={"verb": "delete", "ids": "1", "csrf_token": token},
                           headers={"x-user": "guest"})
        assert done.status_code == 403
        client.post("/actions", data={"verb": "delete", "ids": "1", "csrf_token": token},
                    headers={"x-user": "sso:carol"})
    assert [j.id for j in shop.jobs()] == [2, 3, 4]


async def _card(request: Request) -> Mapping[str, Any]:
    return {"sent": len(await conveyor_of(request).ajobs())}


async def _notes(request: Request) -> Response:
    return render(request, "notes/notes.html", {"count": len(await conveyor_of(request).ajobs())})


async def _touch(request: Request) -> Response:
    return redirect(request, "/notes/", "touched")


NOTES = Page(slug="notes", label="Notes <3",
             routes=[Route("/", _notes), Route("/touch", _touch, methods=["POST"])],
             templates=Path(__file__).parent / "ext_templates",
             cards=[Card("Notes sent", "notes/card.html", _card)])


def test_extension_pages_share_layout_login_csrf_and_roles(shop: Conveyor) -> None:
    with TestClient(create_app(shop, pages=[NOTES], config=configured())) as client:
        assert client.get("/notes/", follow_redirects=False).status_code == 303
        token = log_in(client)
        page = client.get("/notes/").text
        assert 'id="note-count">4 jobs known' in page
        assert re.search(r'href="/notes/"[^>]*>Notes &lt;3</a>', page)
        assert 'id="refresh-interval"' in page
        assert re.search(r'id="notes-card">4<', client.get("/").text)
        assert client.post("/notes/touch", data={}).status_code == 403
        assert "touched" in client.post("/notes/touch", data={"csrf_token": token}).text
        client.post("/logout", data={"csrf_token": token})
        viewer_token = log_in(client, "rob")
        assert client.post("/notes/touch", data={"csrf_token": viewer_token}).status_code == 403


def test_extension_slugs_are_checked(app: Conveyor) -> None:
    with pytest.raises(ConfigurationError, match="already taken"):
        create_app(app, pages=[Page("jobs", "Mine", [])], config=configured())
    with pytest.raises(ConfigurationError, match="already taken"):
        create_app(app, pages=[NOTES, NOTES], config=configured())
    with pytest.raises(ConfigurationError, match="slug"):
        Page("Bad Slug", "x", [])
    with pytest.raises(ConfigurationError, match="does not exist"):
        Page("x", "x", [], templates="/no/such/dir")


def test_vendored_assets_match_their_record() -> None:
    record = (STATIC / "VENDORED.md").read_text()
    for name, digest in re.findall(r"\| `([^`]+\.js)` \|.*\| ([0-9a-f]{64}) \|", record):
        assert hashlib.sha256((STATIC / name).read_bytes()).hexdigest() == digest
    assert "Zero-Clause BSD" in (STATIC / "htmx-LICENSE.txt").read_text()
