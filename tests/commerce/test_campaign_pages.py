"""The Campaigns page over HTTP, on both backends: a CSV upload previewed (valid, invalid,
opted-out, duplicate counts, nothing stored), then started; the list with its progress bar;
one campaign's recipients filtered in the query string; pause/resume/cancel; bad uploads
refused with the reason."""

from __future__ import annotations

import html
import re

import pytest

from conveyor_commerce import CampaignStatus, Commerce
from conveyor_commerce.sandbox import SandboxServer
from conveyor_commerce.whatsapp.accounts import Account
from tests.commerce.pages_scene import dashboard, notice
from tests.web.conftest import ADMIN, VIEWER

CSV = ("phone,name\n+48 600 000 001,Ada\n48600000002,Bob\nnot-a-number,Eve\n"
       "+48600000001,Ada again\n48600000003,Opted\n")


def recipient_ids(page: str) -> list[int]:
    return [int(found) for found in re.findall(r'<tr data-recipient="(\d+)"', page)]


def count(page: str, name: str) -> int:
    found = re.search(rf'data-count="{name}">(\d+)<', page)
    assert found, f"no count {name}"
    return int(found.group(1))


def test_upload_preview_start_and_watch(kit: Commerce, account: Account,
                                        sandbox: SandboxServer) -> None:
    kit.campaigns.opt_out(["48600000003"])
    form = {"name": "Spring sale", "account": str(account.id), "kind": "template",
            "template": "hello_world", "language": "en_US"}
    with dashboard(kit, ADMIN) as (client, token):
        assert "No campaign yet" in client.get("/campaigns/").text
        assert 'enctype="multipart/form-data"' in client.get("/campaigns/new").text
        checked = client.post("/campaigns/preview", data={**form, "csrf_token": token},
                              files={"recipients": ("list.csv", CSV.encode(), "text/csv")})
        assert checked.status_code == 200, checked.text
        page = checked.text
        assert [count(page, k) for k in ("valid", "invalid", "opted_out", "duplicates")] == \
            [2, 1, 1, 1]
        assert "not-a-number" in page and kit.campaigns.list() == []  # nothing stored yet
        upload = re.search(r'name="token" value="([^"]+)"', page)
        assert upload is not None
        started = client.post("/campaigns/start", data={
            **form, "token": html.unescape(upload.group(1)), "csrf_token": token},
            follow_redirects=True)
        assert started.status_code == 200 and "2 recipients to send" in notice(started.text)
        [campaign] = kit.campaigns.list()
        assert campaign.status == CampaignStatus.RUNNING and campaign.pending == 2
        assert '<main id="live" data-live="2">' in started.text  # refreshed while it runs
        again = client.post("/campaigns/start", data={
            **form, "token": html.unescape(upload.group(1)), "csrf_token": token})
        assert again.status_code == 400 and "Upload the CSV file again" in again.text
        paused = client.post(f"/campaigns/{campaign.id}/pause", data={"csrf_token": token},
                             follow_redirects=True)
        assert "pause done" in notice(paused.text) and 'id="resume"' in paused.text
        assert '<main id="live">' in paused.text
        listing = client.get("/campaigns/").text
        assert f'data-campaign="{campaign.id}" data-status="paused"' in listing
        assert '<progress max="100" value="50.0"' in listing  # 2 of the 4 stored are settled
        shown = client.get(f"/campaigns/{campaign.id}?status=skipped").text
        assert len(recipient_ids(shown)) == 2 and "opted out" in shown
        assert "invalid number" in shown and 'data-status="pending"' not in shown
        assert len(recipient_ids(client.get(
            f"/campaigns/{campaign.id}?phone=600000002").text)) == 1
        assert "status: one of" in client.get(f"/campaigns/{campaign.id}?status=lost").text
        cancelled = client.post(f"/campaigns/{campaign.id}/cancel",
                                data={"csrf_token": token}, follow_redirects=True)
        assert "cancel done" in notice(cancelled.text)
        assert count(cancelled.text, "skipped") == 4 and count(cancelled.text, "pending") == 0
        refused = client.post(f"/campaigns/{campaign.id}/resume", data={"csrf_token": token})
        assert refused.status_code == 400 and "only a paused campaign can resume" in \
            refused.text
        assert client.get("/campaigns/999").status_code == 404


@pytest.mark.parametrize(("content", "reason"), [
    (b"name,city\nAda,Krakow\n", "no phone column"),
    (b"phone\n48600\x00000001\n", "a NUL byte"),
    (b"", "the list is empty"),
])
def test_bad_uploads_are_refused_with_the_reason(kit: Commerce, account: Account,
                                                 content: bytes, reason: str) -> None:
    with dashboard(kit, ADMIN) as (client, token):
        refused = client.post("/campaigns/preview", data={
            "name": "x", "account": str(account.id), "template": "hello_world",
            "csrf_token": token}, files={"recipients": ("bad.csv", content, "text/csv")})
        assert refused.status_code == 400 and reason in html.unescape(refused.text)
    assert kit.campaigns.list() == []


def test_a_viewer_sees_campaigns_but_cannot_change_them(kit: Commerce,
                                                       account: Account) -> None:
    campaign = kit.campaigns.create("seen", account.id, "hi", ["48600000001"], start=False)
    with dashboard(kit, VIEWER) as (client, token):
        page = client.get(f"/campaigns/{campaign.id}").text
        assert "seen" in page and 'id="cancel"' not in page
        assert "read-only" in client.get("/campaigns/new").text
        refused = client.post(f"/campaigns/{campaign.id}/cancel", data={"csrf_token": token})
        assert refused.status_code == 403
    assert kit.campaigns.get(campaign.id).status == CampaignStatus.DRAFT
