"""The messages pages over HTTP, on both backends, against the sandbox: the filtered list and
its keyset pages, the schedule form (an invalid number refused inline with nothing stored,
then quick offsets and a local time in a zone), edit / cancel / retry / delete of one
message, bulk actions after a preview, the accounts' status and the overview card."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from starlette.testclient import TestClient

from conveyor import FrozenClock, JobState
from conveyor_commerce import Commerce, MessageFilter, MessageNotFound, MessageStatus
from conveyor_commerce.sandbox import SandboxServer
from tests.commerce.conftest import drain
from tests.commerce.pages_scene import (
    Scene,
    build,
    dashboard,
    link,
    notice,
    row_ids,
)
from tests.web.conftest import ADMIN

M = MessageStatus


@pytest.fixture
def clock() -> FrozenClock:
    from tests.commerce import pages_scene

    return pages_scene.clock()


@pytest.fixture
def scene(kit: Commerce, sandbox: SandboxServer) -> Scene:
    return build(kit, sandbox)


@pytest.fixture
def admin(kit: Commerce, scene: Scene) -> Iterator[tuple[TestClient, str]]:
    with dashboard(kit, ADMIN) as logged_in:
        yield logged_in


def test_list_shows_every_status_and_filters_in_the_url(
        kit: Commerce, scene: Scene, admin: tuple[TestClient, str]) -> None:
    client, _ = admin
    assert row_ids(client.get("/messages/").text) == sorted(scene.ids(), reverse=True)
    failed = client.get("/messages/?status=failed").text
    assert row_ids(failed) == [scene.hopeless, scene.failed]
    assert "(#131026)" in failed and 'data-status="failed"' in failed
    both = row_ids(client.get("/messages/?status=failed&status=cancelled").text)
    assert both == [scene.cancelled, scene.hopeless, scene.failed]
    assert row_ids(client.get(f"/messages/?account={scene.stopped}").text) == [scene.waiting]
    assert row_ids(client.get("/messages/?to=%2B48 600 100 203").text) == [scene.hostile]
    assert row_ids(client.get("/messages/?text=stock").text) == [scene.failed]
    later = (kit.now() + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%S")
    assert row_ids(client.get(f"/messages/?since={later}").text) == \
        [scene.cancelled, scene.template, scene.hostile]
    assert row_ids(client.get(f"/messages/?until={later}&account={scene.shop}").text) == \
        [scene.hopeless, scene.failed, scene.sent]
    bad = client.get("/messages/?status=lost&to=12&since=yesterday&limit=7")
    assert bad.status_code == 200
    for complaint in ("unknown status &#39;lost&#39;", "recipient &#39;12&#39;",
                      "since &#39;yesterday&#39; ignored", "page size &#39;7&#39;"):
        assert complaint in bad.text
    assert row_ids(bad.text) == sorted(scene.ids(), reverse=True)  # bad fields ignored


def test_keyset_pages_newest_first(kit: Commerce, scene: Scene,
                                   admin: tuple[TestClient, str]) -> None:
    client, _ = admin
    more = kit.messages.schedule_many(scene.shop, [(f"+4860030{i:04d}", f"bulk {i}")
                                                   for i in range(24)], offset="+2h")
    everything = sorted([*scene.ids(), *more], reverse=True)
    first = client.get("/messages/?limit=25").text
    assert row_ids(first) == everything[:25]
    assert 'id="prev-page"' not in first
    second = client.get(link(first, "next-page")).text
    assert row_ids(second) == everything[25:]
    assert 'id="next-page"' not in second
    assert row_ids(client.get(link(second, "prev-page")).text) == everything[:25]
    failed_only = client.get("/messages/?status=failed&limit=25").text
    assert 'id="next-page"' not in failed_only
    assert client.get("/messages/?before=abc").status_code == 200


def test_schedule_refuses_an_invalid_number_inline_then_schedules(
        kit: Commerce, scene: Scene, admin: tuple[TestClient, str]) -> None:
    client, token = admin
    form = client.get("/messages/new").text
    for quick in ("+5m", "+30m", "+1h", "+1d"):
        assert f'data-quick="{quick}"' in form
    before = (kit.messages.count(), len(kit.app.jobs()))
    fields = {"csrf_token": token, "account": str(scene.shop), "to": "+48 12 34",
              "kind": "text", "text": "Your parcel <is> ready", "when": "+30m", "tz": "UTC",
              "max_retries": "2"}
    refused = client.post("/messages/new", data=fields)
    assert refused.status_code == 400
    assert re.search(r'id="error-to">recipient &#39;\+48 12 34&#39; is not a valid', refused.text)
    assert "Your parcel &lt;is&gt; ready</textarea>" in refused.text  # typed text kept
    assert (kit.messages.count(), len(kit.app.jobs())) == before
    done = client.post("/messages/new", data={**fields, "to": "+48 600 100 300"},
                       follow_redirects=False)
    assert done.status_code == 303
    message_id = int(done.headers["location"].rsplit("/", 1)[1])
    message = kit.messages.get(message_id)
    assert (message.recipient, message.status, message.max_retries) == \
        ("48600100300", M.PENDING, 2)
    assert message.scheduled_at == kit.now() + timedelta(minutes=30)
    job = kit.app.get(message.job_id or 0)
    assert (job.state, job.run_at) == (JobState.SCHEDULED, message.scheduled_at)
    assert notice(client.get(done.headers["location"]).text).startswith(
        f"Scheduled message {message_id} for ")


def test_schedule_at_a_local_time_in_a_zone_and_its_refusals(
        kit: Commerce, scene: Scene, admin: tuple[TestClient, str]) -> None:
    client, token = admin
    year = kit.now().year + 1
    fields = {"csrf_token": token, "account": str(scene.shop), "to": "+48600100301",
              "kind": "template", "template": "order_update", "language": "en_US",
              "params": 'Alex\n{"type": "text", "text": "A-7"}', "when": "at",
              "at": f"{year}-07-01T09:30", "tz": "Europe/Warsaw", "max_retries": "3"}
    done = client.post("/messages/new", data=fields, follow_redirects=False)
    assert done.status_code == 303, done.text
    message = kit.messages.get(int(done.headers["location"].rsplit("/", 1)[1]))
    assert message.scheduled_at == datetime(year, 7, 1, 7, 30, tzinfo=UTC)  # CEST is +2
    assert message.kind == "template"
    assert message.content.body == ("Alex", {"type": "text", "text": "A-7"})  # type: ignore[union-attr]
    count = kit.messages.count()
    for change, field in (({"tz": "Mars/Olympus"}, "when"),
                          ({"at": f"{year - 3}-01-01T00:00"}, "when"),
                          ({"at": ""}, "when"), ({"template": ""}, "content"),
                          ({"params": "{not json"}, "content"), ({"max_retries": "9"},
                                                                  "max_retries"),
                          ({"account": "none"}, "account")):
        refused = client.post("/messages/new", data={**fields, **change})
        assert refused.status_code == 400, change
        assert f'id="error-{field}"' in refused.text, change
    gone = client.post("/messages/new", data={**fields, "account": "999"})
    assert gone.status_code == 400 and "no WhatsApp account 999" in gone.text
    assert kit.messages.count() == count


def test_edit_cancel_retry_and_delete_one_message(
        kit: Commerce, scene: Scene, sandbox: SandboxServer,
        admin: tuple[TestClient, str]) -> None:
    client, token = admin
    page = client.get(f"/messages/{scene.hostile}").text
    assert 'id="edit"' in page and 'id="cancel"' in page and 'id="retry"' not in page
    before = kit.messages.get(scene.hostile)
    edit = {"csrf_token": token, "to": "+48 600 100 203", "kind": "text",
            "text": "Edited text", "when": "+1d", "tz": "UTC", "max_retries": "1"}
    refused = client.post(f"/messages/{scene.hostile}/edit", data={**edit, "to": "0"})
    assert refused.status_code == 400 and 'id="error-to"' in refused.text
    assert kit.messages.get(scene.hostile) == before
    saved = client.post(f"/messages/{scene.hostile}/edit", data=edit)
    assert notice(saved.text) == f"Edited message {scene.hostile}."
    edited = kit.messages.get(scene.hostile)
    assert (edited.content.body, edited.max_retries) == ("Edited text", 1)  # type: ignore[union-attr]
    assert edited.scheduled_at == kit.now() + timedelta(days=1)
    assert edited.job_id != before.job_id
    assert kit.app.get(edited.job_id or 0).run_at == edited.scheduled_at
    assert kit.app.get(before.job_id or 0).state == JobState.CANCELLED

    cancelled = client.post(f"/messages/{scene.hostile}/cancel", data={"csrf_token": token})
    assert notice(cancelled.text) == f"Cancelled message {scene.hostile}."
    assert kit.messages.get(scene.hostile).status == M.CANCELLED
    assert kit.app.get(edited.job_id or 0).state == JobState.CANCELLED
    wrong = client.post(f"/messages/{scene.sent}/cancel", data={"csrf_token": token})
    assert wrong.status_code == 400 and "only pending messages can be cancelled" in wrong.text
    assert kit.messages.get(scene.sent).status == M.SENT

    retried = client.post(f"/messages/{scene.failed}/retry", data={"csrf_token": token})
    assert notice(retried.text) == f"Retried message {scene.failed}."
    assert kit.messages.get(scene.failed).status == M.PENDING
    drain(kit)
    assert kit.messages.get(scene.failed).status == M.SENT
    assert 'id="force"' in client.get(f"/messages/{scene.hopeless}").text
    hopeless = client.post(f"/messages/{scene.hopeless}/retry", data={"csrf_token": token})
    assert hopeless.status_code == 400 and "cannot succeed" in hopeless.text
    assert kit.messages.get(scene.hopeless).status == M.FAILED
    client.post(f"/messages/{scene.hopeless}/retry", data={"csrf_token": token, "force": "yes"})
    assert kit.messages.get(scene.hopeless).status == M.PENDING

    deleted = client.post(f"/messages/{scene.cancelled}/delete", data={"csrf_token": token},
                          follow_redirects=False)
    assert (deleted.status_code, deleted.headers["location"]) == (303, "/messages/")
    with pytest.raises(MessageNotFound):
        kit.messages.get(scene.cancelled)
    assert client.get(f"/messages/{scene.cancelled}").status_code == 404


def test_bulk_actions_after_a_preview(kit: Commerce, scene: Scene,
                                      admin: tuple[TestClient, str]) -> None:
    client, token = admin
    listed = client.get(f"/messages/?account={scene.shop}").text
    preview = client.get(link_of_bulk(listed, "cancel"))
    assert re.search(r"<strong data-count>2</strong> messages", preview.text)
    assert kit.messages.count(MessageFilter(statuses=[M.PENDING])) == 3  # nothing changed yet
    hidden = {name: html.unescape(value) for name, value in re.findall(
        r'<input type="hidden" name="(\w+)" value="([^"]*)">',
        preview.text.split('id="confirm-bulk"')[1])}
    assert hidden["verb"] == "cancel" and hidden["account"] == str(scene.shop)
    done = client.post("/messages/bulk", data={**hidden, "csrf_token": token},
                       follow_redirects=False)
    assert done.headers["location"] == f"/messages/?account={scene.shop}"
    assert notice(client.get(done.headers["location"]).text) == "Cancelled 2 messages."
    statuses = {m.id: m.status for m in kit.messages.list(limit=100)}
    assert statuses[scene.hostile] == statuses[scene.template] == M.CANCELLED
    assert statuses[scene.waiting] == M.PENDING  # the other account's

    selection = f"/messages/preview?verb=retry&id={scene.failed}&id={scene.sent}"
    shown = client.get(selection).text
    assert "2 selected messages" in shown
    assert re.search(r"<strong data-count>1</strong> message ", shown)  # only the failed one
    client.post("/messages/bulk", data={"csrf_token": token, "verb": "retry",
                                        "id": [str(scene.failed), str(scene.sent)]})
    assert kit.messages.get(scene.failed).status == M.PENDING
    assert kit.messages.get(scene.sent).status == M.SENT

    everything = client.get("/messages/preview?verb=delete").text
    assert re.search(r"<strong data-count>7</strong> messages", everything)  # none sending
    client.post("/messages/bulk", data={"csrf_token": token, "verb": "delete",
                                        "status": "cancelled"})
    assert kit.messages.count() == 4
    assert client.get("/messages/preview?verb=explode").status_code == 400
    assert client.post("/messages/bulk", data={"csrf_token": token,
                                               "verb": "explode"}).status_code == 400
    nothing = client.get("/messages/preview?verb=cancel&status=sent").text
    assert "<strong data-count>0</strong>" in nothing and 'id="confirm-bulk"' not in nothing


def link_of_bulk(page: str, verb: str) -> str:
    found = re.search(rf'<a class="button" href="([^"]+)" data-bulk="{verb}"', page)
    assert found, f"no bulk {verb} link"
    return html.unescape(found.group(1))


def test_accounts_show_why_one_is_stopped_and_the_card_counts(
        kit: Commerce, scene: Scene, admin: tuple[TestClient, str]) -> None:
    client, _ = admin
    accounts = client.get("/messages/accounts").text
    stopped = accounts.split(f'data-account="{scene.stopped}"')[1].split("</tr>")[0]
    assert 'data-account-status="stopped"' in stopped
    assert re.search(r'id="stop-\d+">\(#190\) ', stopped)
    assert kit.accounts.get(scene.stopped).stop_reason in html.unescape(stopped)
    assert "rotate-token" in stopped
    shop = accounts.split(f'data-account="{scene.shop}"')[1].split("</tr>")[0]
    assert 'data-account-status="active"' in shop and "stored unencrypted" in shop
    overview = client.get("/").text
    card = overview.split('id="messages-card"')[1].split("</dl>")[0]
    counts = dict(re.findall(r'data-messages="([\w-]+)">(\d+)<', card))
    assert counts == {"pending": "3", "sent-today": "1", "failed": "2", "stopped": "1"}
    assert 'href="/messages/"' in overview  # the navigation entry
    waiting = client.get(f"/messages/{scene.waiting}").text
    assert 'id="account-stopped"' in waiting and "(#190)" in waiting

