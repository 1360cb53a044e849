"""Screenshots of the main pages for the README (docs/screenshots/, committed, refreshed
with `CONVEYOR_SCREENSHOTS=docs/screenshots`: see `tests.web.live.screenshots`), taken from a
seeded SQLite database; the pages must load without a browser console error (so without a
Content-Security-Policy violation)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conveyor import JobFilter, changes
from tests.web.live import Live, dashboard_app, screenshots, seed

PAGES = [("overview", "/"), ("jobs", "/jobs"), ("jobs-failed", "/jobs?state=discarded"),
         ("batches", "/batches"), ("cron", "/cron"), ("limits", "/limits"),
         ("workers", "/workers"), ("audit", "/audit")]


def _scene(live: Live) -> dict[str, list[int]]:
    app = live.app
    ids = seed(app)
    render, notify = app.registry.get("render_page"), app.registry.get("notify")
    app.batch([render.s(n) for n in range(10)], name="Render catalog")
    app.drain(queues=["render"])
    partial = app.batch([render.s(n) for n in range(30)], name="Nightly image sync")
    part = app.jobs(JobFilter(batch_ids=[partial.id], limit=8))
    app.admin.apply(changes.CancelJobs(), JobFilter(ids=[j.id for j in part]), actor="ann")
    notify.enqueue_many([((account, f"hello {n}"), {}) for account in (1, 2) for n in range(3)])
    app.drain(queues=["notify"])
    notify.enqueue_many([((2, f"later {n}"), {}) for n in range(4)])
    app.admin.pause(queue="notify", actor="ann")
    app.admin.apply(changes.RetryJobs(), JobFilter(ids=ids["failed"][:1]), actor="ann")
    app.admin.edit(ids["later"][0], priority=2, actor="rob")
    return ids


def test_screenshots_of_the_main_pages(browser: Any, tmp_path: Path) -> None:
    app = dashboard_app(f"sqlite:///{tmp_path / 'shots.db'}")
    context = browser.new_context(viewport={"width": 1400, "height": 860})
    live = Live(app, context.new_page())
    errors: list[str] = []
    live.page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        shots = screenshots(tmp_path)
        ids = _scene(live)
        live.goto("/")
        live.page.screenshot(path=shots / "login.png")
        live.log_in()
        pages = [*PAGES, ("job", f"/jobs/{ids['failed'][1]}"),
                 ("job-edit", f"/jobs/{ids['waiting'][0]}")]
        for name, path in pages:
            live.goto(path)
            live.page.wait_for_load_state("networkidle")
            live.page.screenshot(path=shots / f"{name}.png", full_page=True)
        assert errors == []
        for name in ["login", *(n for n, _ in pages)]:
            assert (shots / f"{name}.png").stat().st_size > 10_000, name
    finally:
        live.close()
        context.close()
        app.close()
