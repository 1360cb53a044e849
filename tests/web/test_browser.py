"""The dashboard in a real headless chromium, on both backends: log in, read the overview,
filter and retry, bulk-cancel after the preview, edit with an inline error, watch a batch
move while a worker runs, and a read-only user who cannot act."""

from __future__ import annotations

import time
from pathlib import Path

from conveyor import JobState
from tests.web.conftest import ADMIN, SECRET, VIEWER
from tests.web.live import Live, seed, start_worker


def test_log_in_overview_counts_filter_failed_and_retry_one(dashboard: Live) -> None:
    ids = seed(dashboard.app)
    dashboard.log_in(path="/jobs?state=running")
    assert dashboard.page.url.endswith("/jobs?state=running")  # back where login was asked
    dashboard.goto("/")
    totals: dict[str, int] = {}
    for (_, state), count in dashboard.app.counts().items():
        totals[state.value] = totals.get(state.value, 0) + count
    for state in ("available", "scheduled", "discarded", "running"):
        shown = dashboard.page.inner_text(f'[data-count="{state}"]')
        assert int(shown) == totals.get(state, 0), state
    assert (totals["available"], totals["discarded"]) == (5, 2)
    dashboard.goto("/jobs")
    dashboard.page.select_option("select[name=state]", "discarded")
    dashboard.page.click("#filters button[type=submit]")
    dashboard.page.wait_for_url("**/jobs?state=discarded*")
    rows = dashboard.page.locator("#jobs tbody tr[data-job]")
    assert sorted(int(r) for r in rows.evaluate_all("rs => rs.map(r => r.dataset.job)")) \
        == sorted(ids["failed"])
    target = ids["failed"][0]
    dashboard.page.check(f"#select-{target}")
    dashboard.page.click('button[data-selected="retry"]')
    assert dashboard.notice() == "Retried 1 job."
    assert dashboard.app.get(target).state == JobState.AVAILABLE
    assert dashboard.page.locator(f'tr[data-job="{target}"]').count() == 0
    assert SECRET not in dashboard.page.content()
    dashboard.page.click("nav >> text=Audit")
    entry = dashboard.page.locator("#audit tbody tr").first
    assert entry.locator("[data-action]").inner_text() == "retry"
    assert ADMIN in entry.inner_text() and f"#{target}" in entry.inner_text()


def test_bulk_cancel_by_filter_after_the_preview(dashboard: Live) -> None:
    ids = seed(dashboard.app)
    dashboard.log_in()
    dashboard.goto("/jobs?queue=messages")
    dashboard.page.click('a[data-bulk="cancel"]')
    assert dashboard.page.inner_text("[data-count]") == "2"
    assert [dashboard.app.get(i).state for i in ids["messages"]] == [JobState.AVAILABLE] * 2
    dashboard.page.click("#confirm-bulk button[type=submit]")
    assert dashboard.notice() == "Cancelled 2 jobs."
    assert [dashboard.app.get(i).state for i in ids["messages"]] == [JobState.CANCELLED] * 2
    assert dashboard.app.get(ids["waiting"][0]).state == JobState.AVAILABLE
    dashboard.goto("/audit")
    assert dashboard.page.locator("#audit tbody tr").count() == 1
    assert "cancel" in dashboard.page.inner_text("#audit tbody tr")


def test_edit_arguments_rejected_inline_then_saved(dashboard: Live) -> None:
    ids = seed(dashboard.app)
    job_id = ids["later"][0]
    before = dashboard.app.get(job_id)
    dashboard.log_in(path=f"/jobs/{job_id}")
    dashboard.page.fill("textarea[name=args]", '[1, 2, "three", 4]')
    dashboard.page.click("#edit button[type=submit]")
    error = dashboard.page.inner_text("#edit-error")
    assert "sync_product" in error
    assert dashboard.page.input_value("textarea[name=args]") == '[1, 2, "three", 4]'
    assert dashboard.app.get(job_id) == before
    dashboard.page.fill("textarea[name=args]", "[21]")
    dashboard.page.click("#edit button[type=submit]")
    assert dashboard.notice() == f"Edited job {job_id}."
    assert list(dashboard.app.get(job_id).args) == [21]


def test_batch_progress_bar_moves_while_a_worker_runs(dashboard: Live, tmp_path: Path) -> None:
    render = dashboard.app.registry.get("render_page")
    batch = dashboard.app.batch([render.s(n) for n in range(16)], name="Render catalog")
    dashboard.log_in(path="/batches")
    bar = dashboard.page.locator(f'tr[data-batch="{batch.id}"] progress')
    assert bar.get_attribute("value") == "0"
    dashboard.page.evaluate("window.stayedOnPage = true")
    worker = start_worker(dashboard.app.url, "render", tmp_path / "worker.log")
    seen = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            value = int(dashboard.page.locator(
                f'tr[data-batch="{batch.id}"] progress').get_attribute("value") or 0)
            if not seen or seen[-1] != value:
                seen.append(value)
            if value == 16:
                break
            dashboard.page.wait_for_timeout(200)
        assert dashboard.page.evaluate("window.stayedOnPage") is True  # refreshed in place
        dashboard.goto("/workers")
        row = dashboard.page.locator("#workers tbody tr").first
        assert str(worker.pid) in row.inner_text() and "alive" in row.inner_text()
    finally:
        worker.terminate()
        worker.wait(30)
    assert seen[0] == 0 and seen[-1] == 16, seen
    assert len(seen) >= 3, f"the bar jumped without showing progress in between: {seen}"
    assert seen == sorted(seen)


def test_read_only_user_cannot_act(dashboard: Live) -> None:
    ids = seed(dashboard.app)
    dashboard.log_in(VIEWER)
    assert dashboard.page.inner_text("#role") == "read-only"
    dashboard.goto("/jobs")
    assert dashboard.page.locator("input[data-row]").count() == 0
    assert dashboard.page.locator("button[name=verb]").count() == 0
    dashboard.goto(f"/jobs/{ids['later'][0]}")
    assert dashboard.page.locator("#edit").count() == 0
    assert dashboard.page.locator("#job-actions").count() == 0
    status = dashboard.page.evaluate(
        """async (id) => {
            const token = document.querySelector('input[name=csrf_token]').value;
            const body = new URLSearchParams({csrf_token: token, verb: 'delete', ids: id});
            const response = await fetch('/actions', {method: 'POST', body});
            return response.status;
        }""", str(ids["later"][0]))
    assert status == 403
    assert dashboard.app.get(ids["later"][0]).state == JobState.SCHEDULED


def test_auto_refresh_in_place_keeps_scroll_and_waits_for_a_selection(dashboard: Live) -> None:
    ids = seed(dashboard.app)
    sync = dashboard.app.registry.get("sync_product")
    dashboard.log_in(path="/jobs")
    page = dashboard.page
    page.set_viewport_size({"width": 1400, "height": 400})
    page.select_option("#refresh-interval", "5")
    page.evaluate("window.scrollTo(0, 250); window.stayedOnPage = true")
    fresh = sync.enqueue(99).id
    page.wait_for_selector(f'tr[data-job="{fresh}"]')
    assert page.evaluate("[window.stayedOnPage, window.scrollY]") == [True, 250]
    assert page.inner_text("#refresh-status").startswith("updated")
    page.check(f"#select-{ids['waiting'][0]}")
    waiting = sync.enqueue(100).id
    page.wait_for_timeout(7000)  # more than one interval: the refresh must hold back
    assert page.locator(f'tr[data-job="{waiting}"]').count() == 0
    assert page.is_checked(f"#select-{ids['waiting'][0]}")
    page.uncheck(f"#select-{ids['waiting'][0]}")
    page.wait_for_selector(f'tr[data-job="{waiting}"]')
    page.select_option("#refresh-interval", "0")  # paused: kept for the next page too
    page.reload()
    assert page.input_value("#refresh-interval") == "0"
