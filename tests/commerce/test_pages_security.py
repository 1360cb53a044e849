"""The messages pages keep the dashboard's rules, on both backends: a read-only user gets 403
on every action and sees no form to act with, every POST needs the session's CSRF token,
hostile strings (message text, template parameters, an account name, typed filters and form
fields) are escaped, and the accounts' sentinel tokens appear on no page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from starlette.routing import Route

from conveyor import FrozenClock
from conveyor_commerce import Commerce
from conveyor_commerce.messages.service import describe
from conveyor_commerce.sandbox import SandboxServer
from conveyor_commerce.web import messages
from tests.commerce.conftest import SENTINEL
from tests.commerce.pages_scene import HOSTILE_ACCOUNT, OTHER_SENTINEL, Scene, build, dashboard
from tests.web.conftest import ADMIN, HOSTILE_IMG, HOSTILE_SCRIPT, VIEWER


@pytest.fixture
def clock() -> FrozenClock:
    from tests.commerce import pages_scene

    return pages_scene.clock()


@pytest.fixture
def scene(kit: Commerce, sandbox: SandboxServer) -> Scene:
    return build(kit, sandbox)


def routes(method: str) -> list[str]:
    """Every route of the messages pages with this method, as declared by the page."""
    return [route.path for route in messages.page().routes
            if isinstance(route, Route) and method in (route.methods or ())]


def post_paths(scene: Scene) -> dict[str, dict[str, Any]]:
    """Every POST route with a target and a form that would change something."""
    found = {}
    for path in routes("POST"):
        target = scene.failed if path.endswith("/retry") else scene.hostile
        found["/messages" + path.replace("{message_id:int}", str(target))] = {
            "account": str(scene.shop), "to": "+48 600 100 207", "kind": "text",
            "text": "changed", "when": "+1h", "tz": "UTC", "max_retries": "3",
            "verb": "delete", "status": "pending"}
    return found


def snapshot(kit: Commerce) -> list[dict[str, Any]]:
    return [describe(m) for m in kit.messages.list(limit=500)]


def test_a_read_only_user_is_refused_every_action_and_offered_none(
        kit: Commerce, scene: Scene) -> None:
    before = snapshot(kit)
    with dashboard(kit, VIEWER) as (client, token):
        for path, form in post_paths(scene).items():
            response = client.post(path, data={**form, "csrf_token": token})
            assert response.status_code == 403, path
            assert f"user {VIEWER} is read-only" in response.text
        assert len(post_paths(scene)) == 6  # new, bulk, edit, cancel, retry, delete
        listed = client.get("/messages/").text
        assert "data-bulk" not in listed and "data-selected" not in listed
        assert 'id="schedule"' not in client.get("/messages/new").text
        for message_id in scene.ids():
            page = client.get(f"/messages/{message_id}").text
            assert 'id="edit"' not in page and 'id="message-actions"' not in page
    assert snapshot(kit) == before


def test_every_post_needs_the_csrf_token_of_the_session(kit: Commerce, scene: Scene) -> None:
    before = snapshot(kit)
    with dashboard(kit, ADMIN) as (client, token):
        for path, form in post_paths(scene).items():
            for forged in ({}, {"csrf_token": "forged"}, {"csrf_token": token + "x"}):
                response = client.post(path, data={**form, **forged})
                assert response.status_code == 403, (path, forged)
            assert client.post(path, data=form,
                               headers={"X-CSRF-Token": "nope"}).status_code == 403
    assert snapshot(kit) == before
    with dashboard(kit, ADMIN) as (client, token):  # the token of this session works
        done = client.post(f"/messages/{scene.hostile}/cancel", data={"csrf_token": token},
                           follow_redirects=False)
        assert done.status_code == 303
    assert snapshot(kit) != before


def test_hostile_strings_are_escaped_and_tokens_never_shown(
        kit: Commerce, scene: Scene) -> None:
    hostile_filter = f"/messages/?text={HOSTILE_SCRIPT}&to={HOSTILE_IMG}&since={HOSTILE_IMG}"
    pages = ["/", "/messages/", "/messages/new", "/messages/accounts", hostile_filter,
             *(f"/messages/{i}" for i in scene.ids()), "/messages/999",
             *(f"/messages/preview?verb={v}" for v in ("cancel", "retry", "delete")),
             f"/messages/preview?verb=cancel&id={scene.hostile}&next={HOSTILE_SCRIPT}",
             *(f"/jobs/{kit.messages.get(i).job_id}" for i in scene.ids())]
    covered = {re.sub(r"^/messages|\?.*$|\d+", "", p) for p in pages if "/messages" in p}
    declared = {re.sub(r"\{message_id:int\}", "", p) for p in routes("GET")}
    assert declared <= covered  # every page of the kit is looked at
    with dashboard(kit, ADMIN) as (client, token):
        shown = {path: client.get(path).text for path in pages}
        typed = client.post("/messages/new", data={
            "csrf_token": token, "account": str(scene.shop), "to": HOSTILE_IMG,
            "kind": "template", "template": HOSTILE_SCRIPT, "params": HOSTILE_IMG,
            "when": "at", "at": HOSTILE_SCRIPT, "tz": HOSTILE_IMG, "max_retries": "3"})
        assert typed.status_code == 400
        shown["refused form"] = typed.text
    for where, page in shown.items():
        for raw in (HOSTILE_SCRIPT, HOSTILE_IMG, "<b>ops</b>"):
            assert raw not in page, (where, raw)
        for secret in (SENTINEL, OTHER_SENTINEL):
            assert secret not in page, where
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown[f"/messages/{scene.hostile}"]
    assert "&lt;img src=x onerror=alert(1)&gt;" in shown[f"/messages/{scene.template}"]
    escaped_account = HOSTILE_ACCOUNT.replace("<", "&lt;").replace(">", "&gt;")
    assert escaped_account.replace('"', "&#34;") in shown["/messages/accounts"]
    assert "&lt;script&gt;" in shown["refused form"]
