"""Actions over HTTP on both backends: one job, selected rows, the filter after a preview,
and the edit form with inline validation; each recorded with the user as the actor."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from conveyor import Conveyor, JobFilter, JobState, changes
from tests.conftest import raw
from tests.web.conftest import ADMIN


def audit_rows(app: Conveyor) -> list[tuple[str, str, int]]:
    return [(str(r[0]), str(r[1]), int(r[2])) for r in
            raw(app.url, "SELECT actor, action, count FROM conveyor_audit ORDER BY id")]


def test_retry_one_failed_job_from_the_filtered_list(admin: tuple[TestClient, str],
                                                     shop: Conveyor) -> None:
    client, token = admin
    listed = client.get("/jobs", params={"state": "discarded"}).text
    assert re.findall(r'data-job="(\d+)"', listed) == ["1"]
    done = client.post("/actions", data={"verb": "retry", "ids": "1", "csrf_token": token,
                                         "next": "/jobs?state=discarded"})
    assert "Retried 1 job." in done.text and 'data-job="1"' not in done.text
    assert shop.get(1).state == JobState.AVAILABLE
    assert audit_rows(shop) == [(ADMIN, "retry", 1)]


def test_bulk_cancel_by_filter_after_the_preview(admin: tuple[TestClient, str],
                                                 shop: Conveyor) -> None:
    client, token = admin
    preview = client.get("/jobs/preview", params={"verb": "cancel", "queue": "sync",
                                                  "state": ["available", "scheduled"]})
    assert re.search(r"data-count>(\d+)<", preview.text).group(1) == "3"  # type: ignore[union-attr]
    assert [j.state for j in shop.jobs()].count(JobState.CANCELLED) == 0
    form = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"',
                           preview.text.split('id="confirm-bulk"')[1]))
    assert form["verb"] == "cancel" and form["queue"] == "sync"
    done = client.post("/actions/bulk", data={
        "csrf_token": token, "verb": "cancel", "queue": "sync",
        "state": ["available", "scheduled"], "next": form["next"]})
    assert "Cancelled 3 jobs." in done.text
    assert {j.id: j.state for j in shop.jobs()} == {
        1: JobState.DISCARDED, 2: JobState.CANCELLED, 3: JobState.CANCELLED,
        4: JobState.CANCELLED}
    assert audit_rows(shop) == [(ADMIN, "cancel", 3)]


def test_run_now_and_delete_selected_rows(admin: tuple[TestClient, str],
                                          shop: Conveyor) -> None:
    client, token = admin
    client.post("/actions", data={"verb": "run-now", "ids": ["3", "2"], "csrf_token": token})
    assert shop.get(3).state == JobState.AVAILABLE
    client.post("/actions", data={"verb": "delete", "ids": ["1", "4"], "csrf_token": token})
    assert sorted(j.id for j in shop.jobs()) == [2, 3]
    bad = client.post("/actions", data={"verb": "explode", "ids": "2", "csrf_token": token})
    assert bad.status_code == 400 and "Nothing was changed" in bad.text
    missing = client.post("/actions", data={"verb": "retry", "ids": "999",
                                            "csrf_token": token})
    assert missing.status_code == 400 and "no job with id 999" in missing.text


def test_edit_rejects_bad_values_inline_then_saves_good_ones(admin: tuple[TestClient, str],
                                                            shop: Conveyor) -> None:
    client, token = admin
    before = shop.get(3)
    page = client.get("/jobs/3").text
    assert 'id="edit"' in page
    wrong_type = client.post("/jobs/3/edit", data={"csrf_token": token, "args": "[1, 2, 3, 4]"})
    assert wrong_type.status_code == 422 and 'id="edit-error"' in wrong_type.text
    assert "sync_product" in wrong_type.text and "[1, 2, 3, 4]" in wrong_type.text
    not_json = client.post("/jobs/3/edit", data={"csrf_token": token, "args": "[1,",
                                                 "priority": "high"})
    assert not_json.status_code == 422
    assert "not valid JSON" in not_json.text and "a whole number" in not_json.text
    assert shop.get(3) == before
    assert audit_rows(shop) == []
    good = client.post("/jobs/3/edit", data={"csrf_token": token, "args": "[30, 7]",
                                             "priority": "5", "queue": "sync"})
    assert "Edited job 3." in good.text
    after = shop.get(3)
    assert (list(after.args), after.priority) == ([30, 7], 5)
    assert audit_rows(shop) == [(ADMIN, "edit", 1)]


def test_edit_keeps_a_masked_secret(admin: tuple[TestClient, str], shop: Conveyor) -> None:
    client, token = admin
    page = client.get("/jobs/2").text
    shown = re.search(r'<textarea name="kwargs">([^<]*)</textarea>', page).group(1)  # type: ignore[union-attr]
    assert "***" in shown
    client.post("/jobs/2/edit", data={"csrf_token": token, "priority": "3",
                                      "kwargs": shown.replace("&#34;", '"')})
    job = shop.get(2)
    assert job.priority == 3 and job.kwargs["token"] == "s3cr3t-token-value"


def test_batches_cron_and_limits_actions(admin: tuple[TestClient, str],
                                         shop: Conveyor) -> None:
    client, token = admin
    job_type = shop.registry.get("sync_product")
    batch = shop.batch([job_type.s(10), job_type.s(11)], name="Nightly <sync>")
    page = client.get("/batches").text
    assert "Nightly &lt;sync&gt;" in page and 'data-live="2"' in page
    assert f'data-batch="{batch.id}"' in page
    done = client.post(f"/batches/{batch.id}/cancel", data={"csrf_token": token})
    assert f"Cancelled batch {batch.id}" in done.text
    assert shop.get_batch(batch.id).progress.cancelled == 2
    client.post(f"/batches/{batch.id}/retry", data={"csrf_token": token})
    assert shop.get_batch(batch.id).progress.pending == 2
    shop.cron("0 * * * *", job_type, args=(1,), name="hourly")
    assert "hourly" in client.get("/cron").text
    paused = client.post("/cron/pause", data={"csrf_token": token, "name": "hourly",
                                              "paused": "1"})
    assert "Paused schedule hourly." in paused.text
    assert [s.paused for s in shop.cron_schedules()] == [True]
    assert re.search(r">ann</a></td>\s*<td data-action>pause_cron<", client.get("/audit").text)
    client.post("/limits/pause", data={"csrf_token": token, "queue": "sync", "paused": "1"})
    assert shop.admin.limits().paused_queues == ["sync"]
    assert "paused" in client.get("/").text
    client.post("/limits/pause", data={"csrf_token": token, "queue": "sync", "paused": "0"})
    assert shop.admin.limits().paused_queues == []


def test_audit_page_and_job_page_list_the_actions(admin: tuple[TestClient, str],
                                                  shop: Conveyor) -> None:
    client, token = admin
    client.post("/actions", data={"verb": "retry", "ids": "1", "csrf_token": token})
    client.post("/jobs/3/edit", data={"csrf_token": token, "priority": "4"})
    shop.admin.apply(changes.CancelJobs(), JobFilter(ids=[2]), actor="cli:ops")
    page = client.get("/audit").text
    rows = re.findall(r'<tr data-audit="\d+">.*?</tr>', page, re.S)
    assert [re.search(r"data-action>(\w+)<", r).group(1) for r in rows] == [  # type: ignore[union-attr]
        "cancel", "edit", "retry"]
    assert ">ann</a>" in rows[1] and ">cli:ops</a>" in rows[0]
    mine = client.get("/audit", params={"actor": ADMIN}).text
    assert mine.count("<tr data-audit=") == 2
    job_page = client.get("/jobs/3").text
    assert re.search(r'id="job-audit".*?>ann</a></td><td>edit<', job_page, re.S)
    hostile = client.get("/audit", params={"actor": "<script>x</script>", "job": "<b>"})
    assert hostile.status_code == 200 and "<script>x" not in hostile.text


def test_list_pages_by_keyset_both_ways_and_searches_text(admin: tuple[TestClient, str],
                                                          shop: Conveyor) -> None:
    client, _ = admin
    sync = shop.registry.get("sync_product")
    sync.enqueue_many([((n,), {"token": f"shop-{n}"}) for n in range(100, 130)])
    first = client.get("/jobs", params={"limit": "25"}).text
    ids = [int(i) for i in re.findall(r'data-job="(\d+)"', first)]
    assert ids == list(range(34, 9, -1))
    following = re.search(r'id="next-page">[^<]*</a>', first)
    assert following is not None
    next_url = re.search(r'href="([^"]+)" id="next-page"', first).group(1)  # type: ignore[union-attr]
    second = client.get(next_url.replace("&amp;", "&")).text
    assert [int(i) for i in re.findall(r'data-job="(\d+)"', second)] == list(range(9, 0, -1))
    back = re.search(r'href="([^"]+)" id="prev-page"', second).group(1)  # type: ignore[union-attr]
    assert re.findall(r'data-job="(\d+)"', client.get(back.replace("&amp;", "&")).text)[0] \
        == "34"
    oldest = client.get("/jobs", params={"order": "oldest", "limit": "25"}).text
    assert re.findall(r'data-job="(\d+)"', oldest)[:2] == ["1", "2"]
    found = client.get("/jobs", params={"text": "12"}).text  # 112 and 120-129
    matched = sorted(int(i) for i in re.findall(r'data-job="(\d+)"', found))
    assert matched == [17, *range(25, 35)]
    assert "invalid page cursor" in client.get("/jobs", params={"cursor": "zz"}).text


def test_overview_counts_queues_and_waiting_job_types(admin: tuple[TestClient, str],
                                                      shop: Conveyor) -> None:
    client, _ = admin
    shop.registry.get("sync_product").options(queue="other").enqueue(7)
    page = client.get("/").text
    assert re.search(r'data-count="available">3<', page)
    assert re.search(r'data-count="discarded">1<', page)
    assert re.search(r'data-count="scheduled">1<', page)
    assert re.search(r'data-count="workers">0<', page)
    sync_row = re.search(r'<tr data-queue="sync".*?</tr>', page, re.S).group(0)  # type: ignore[union-attr]
    assert re.search(r'data-state="available"><a [^>]*>2<', sync_row)
    assert 'data-queue="other"' in page
    by_name = re.search(r'<tr data-name="sync_product">.*?</tr>', page, re.S).group(0)  # type: ignore[union-attr]
    assert re.search(r"data-total>4<", by_name)
    assert "No worker is running." in client.get("/workers").text


def test_cron_run_now_is_enqueued_and_audited(admin: tuple[TestClient, str],
                                              shop: Conveyor) -> None:
    client, token = admin
    shop.cron("0 3 * * *", shop.registry.get("sync_product"), args=(77,), name="nightly")
    done = client.post("/cron/run", data={"csrf_token": token, "name": "nightly"})
    found = re.search(r"Enqueued job (\d+) for schedule nightly\.", done.text)
    assert found is not None
    job = shop.get(int(found.group(1)))
    assert list(job.args) == [77] and job.meta.get("manual")
    assert "cron_run" in client.get("/audit").text
    unknown = client.post("/cron/run", data={"csrf_token": token, "name": "<nope>"})
    assert "no cron schedule named" in unknown.text and "<nope>" not in unknown.text


def test_overview_charts_show_the_outcomes_of_the_last_hour(admin: tuple[TestClient, str]
                                                            ) -> None:
    client, _ = admin
    page = client.get("/").text
    assert page.count('<svg class="chart"') == 2
    assert ": 0 completed, 1 failed" in page  # the fixture's failed job, this minute
