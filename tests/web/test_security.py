"""Dashboard security over HTTP: login, sessions, CSRF, the read-only role, escaping,
redaction and headers - on both backends."""

from __future__ import annotations

import csv
import io

import orjson
from starlette.routing import Route
from starlette.testclient import TestClient

from conveyor import Conveyor, JobState
from conveyor.web import create_app
from conveyor.web.app import _routes
from tests.web.conftest import (
    HOSTILE_IMG,
    HOSTILE_SCRIPT,
    PASSWORD,
    SECRET,
    VIEWER,
    configured,
    csrf_of,
    log_in,
)

PAGES = ["/", "/jobs", "/jobs/1", "/jobs/2", "/jobs/4", "/batches", "/cron", "/limits",
         "/jobs/preview?verb=cancel", "/audit", "/workers"]


def post_routes() -> list[str]:
    """Every POST route of the dashboard but login/logout (read from the app itself)."""
    found = []
    for route in _routes(()):
        if isinstance(route, Route) and "POST" in (route.methods or ()) \
                and route.path not in ("/login", "/logout"):
            found.append(route.path.replace("{job_id:int}", "2").replace("{batch_id:int}", "1"))
    return found


def test_pages_redirect_to_login_without_a_session(anonymous: TestClient) -> None:
    for path in PAGES:
        response = anonymous.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next=")
    htmx = anonymous.get("/jobs", headers={"HX-Request": "true"}, follow_redirects=False)
    assert (htmx.status_code, htmx.headers["hx-redirect"]) == (401, "/login?next=/jobs")
    assert anonymous.get("/static/dashboard.css").status_code == 200


def test_post_without_or_with_a_wrong_csrf_token_is_403(admin: tuple[TestClient, str],
                                                       shop: Conveyor) -> None:
    client, token = admin
    for data in ({"verb": "cancel", "ids": "2"},
                 {"verb": "cancel", "ids": "2", "csrf_token": "forged"},
                 {"verb": "cancel", "ids": "2", "csrf_token": token + "x"}):
        response = client.post("/actions", data=data, follow_redirects=False)
        assert response.status_code == 403
    assert client.post("/actions", data={"verb": "cancel", "ids": "2"},
                       headers={"X-CSRF-Token": "nope"}).status_code == 403
    assert shop.get(2).state == JobState.AVAILABLE
    # A token from a cookie of someone else's session does not pass either.
    with TestClient(create_app(shop, config=configured())) as other:
        foreign = csrf_of(other.get("/login").text)
    assert client.post("/actions", data={"verb": "cancel", "ids": "2",
                                         "csrf_token": foreign}).status_code == 403
    done = client.post("/actions", data={"verb": "cancel", "ids": "2", "csrf_token": token},
                       follow_redirects=False)
    assert done.status_code == 303 and shop.get(2).state == JobState.CANCELLED


def test_login_failures_are_refused_then_throttled(anonymous: TestClient) -> None:
    token = csrf_of(anonymous.get("/login").text)
    for _ in range(5):
        wrong = anonymous.post("/login", data={"username": "ann", "password": "guess",
                                               "csrf_token": token})
        assert wrong.status_code == 401 and "Wrong user name or password" in wrong.text
    right = anonymous.post("/login", data={"username": "ann", "password": PASSWORD,
                                           "csrf_token": token}, follow_redirects=False)
    assert right.status_code == 429 and int(right.headers["retry-after"]) > 0
    assert "conveyor_session" not in right.headers.get("set-cookie", "")
    unknown = anonymous.post("/login", data={"username": "nobody", "password": "x",
                                             "csrf_token": token})
    assert unknown.status_code == 429  # the client address is throttled too
    assert anonymous.post("/login", data={"username": "ann", "password": PASSWORD},
                          follow_redirects=False).status_code == 403  # no CSRF token


def test_session_cookie_flags_logout_and_open_redirects(shop: Conveyor) -> None:
    with TestClient(create_app(shop, config=configured()),
                    base_url="https://dash.example") as client:
        token = csrf_of(client.get("/login").text)
        response = client.post("/login", data={"username": VIEWER, "password": PASSWORD,
                                               "csrf_token": token,
                                               "next": "//evil.example/"},
                               follow_redirects=False)
        assert response.headers["location"] == "/"
        cookie = response.headers["set-cookie"]
        for flag in ("HttpOnly", "SameSite=Lax", "Secure", "Path=/"):
            assert flag in cookie
        stolen = client.cookies["conveyor_session"]
        assert client.get("/jobs").status_code == 200
        out = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
        assert out.status_code == 303 and "Max-Age=0" in out.headers["set-cookie"]
        client.cookies.set("conveyor_session", stolen)
        assert client.get("/jobs", follow_redirects=False).status_code == 303


def test_read_only_user_gets_403_on_every_action(viewer: tuple[TestClient, str],
                                                shop: Conveyor) -> None:
    client, token = viewer
    routes = post_routes()
    assert {"/actions", "/actions/bulk", "/jobs/2/edit", "/batches/1/cancel",
            "/batches/1/retry", "/cron/pause", "/limits/pause"} <= set(routes)
    before = {job.id: (job.state, job.priority) for job in shop.jobs()}
    for path in routes:
        response = client.post(path, data={"csrf_token": token, "verb": "delete", "ids": "2",
                                           "state": "available", "priority": "9",
                                           "queue": "sync", "paused": "1"})
        assert response.status_code == 403, path
        assert "read-only" in response.text
    assert {job.id: (job.state, job.priority) for job in shop.jobs()} == before
    page = client.get("/jobs").text
    assert 'name="verb"' not in page and "data-select-all" not in page
    assert client.post("/logout", data={"csrf_token": token},
                       follow_redirects=False).status_code == 303


def test_hostile_strings_render_as_text(admin: tuple[TestClient, str]) -> None:
    client, _ = admin
    for path in PAGES:
        html = client.get(path).text
        assert HOSTILE_SCRIPT not in html and HOSTILE_IMG not in html, path
        assert "<img" not in html, path
    listed = client.get("/jobs").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in listed
    failed = client.get("/jobs/1").text
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in failed
    hostile = client.get("/jobs", params={"queue": HOSTILE_SCRIPT, "state": HOSTILE_IMG,
                                          "since": HOSTILE_SCRIPT, "text": HOSTILE_IMG,
                                          "order": HOSTILE_SCRIPT, "limit": "<b>"})
    assert hostile.status_code == 200
    assert HOSTILE_SCRIPT not in hostile.text and HOSTILE_IMG not in hostile.text
    assert "unknown state" in hostile.text and "No job matches" in hostile.text
    preview = client.get("/jobs/preview", params={"verb": HOSTILE_SCRIPT})
    assert preview.status_code == 400 and HOSTILE_SCRIPT not in preview.text


def test_secrets_are_absent_from_pages(admin: tuple[TestClient, str]) -> None:
    client, _ = admin
    for path in PAGES:
        assert SECRET not in client.get(path).text, path
    assert "***" in client.get("/jobs/2").text


def test_security_headers(admin: tuple[TestClient, str]) -> None:
    client, _ = admin
    for path in ("/", "/jobs", "/login", "/static/dashboard.js", "/nowhere"):
        headers = client.get(path).headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"
    assert client.get("/jobs").headers["cache-control"] == "no-store"
    html = client.get("/").text
    assert "<script>" not in html and " style=" not in html and "onclick" not in html


def test_exports_stream_the_filter_redacted(admin: tuple[TestClient, str],
                                            shop: Conveyor) -> None:
    client, _ = admin
    response = client.get("/jobs/export.csv", params={"queue": "sync"})
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["id"] for r in rows] == ["4", "3", "2", "1"]  # newest first, as listed
    assert SECRET not in response.text and '""token"":""***""' in response.text
    assert rows[3]["last_error"].startswith("ValueError: bad product")
    hostile_kw = orjson.loads(rows[0]["kwargs"])
    assert hostile_kw == {"shop_id": 4, "token": "***"}
    exported = orjson.loads(client.get("/jobs/export.json",
                                       params={"state": "available", "order": "oldest"}).content)
    assert [job["id"] for job in exported] == [2, 4]
    assert exported[0]["kwargs"] == {"token": "***"}
    assert SECRET not in client.get("/jobs/export.json").text
    assert client.get("/jobs/export.csv", params={"since": "yesterday"}).status_code == 400
    shop.registry.get("sync_product").enqueue("=HYPERLINK(1)")
    formula = client.get("/jobs/export.csv", params={"text": "=HYPERLINK(1)"}).text
    assert '"[""=HYPERLINK(1)""]"' in formula  # JSON text: never a bare formula cell


def test_metrics_need_a_login_or_the_scrapers_token(shop: Conveyor) -> None:
    config = configured(metrics_token="scrape-me")
    with TestClient(create_app(shop, config=config)) as client:
        assert client.get("/metrics", follow_redirects=False).status_code == 303
        wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"},
                           follow_redirects=False)
        assert wrong.status_code == 303
        scraped = client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
        assert scraped.status_code == 200
        assert scraped.headers["content-type"].startswith("text/plain")
        assert 'conveyor_jobs{queue="sync",state="available"} 2.0' in scraped.text
        assert client.get("/jobs", headers={"Authorization": "Bearer scrape-me"},
                          follow_redirects=False).status_code == 303  # only /metrics
        assert client.post("/metrics", headers={"Authorization": "Bearer scrape-me"}
                           ).status_code == 403
        log_in(client, VIEWER)
        assert "conveyor_workers_alive" in client.get("/metrics").text
