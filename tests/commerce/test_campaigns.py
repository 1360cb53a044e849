"""Broadcast campaigns against the sandbox, on both backends: each recipient gets exactly one
outcome, the counters match the recipients table, the number's rate holds, and pause, cancel,
retries and bad input behave as documented."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from conveyor import Conveyor
from conveyor.cli import context
from conveyor.cli.main import cli
from conveyor.worker import runner
from conveyor_commerce import (
    AccountNotFound,
    Campaign,
    CampaignSettings,
    CampaignStatus,
    Commerce,
    InvalidCampaign,
    MessageStatus,
    RecipientStatus,
    Template,
    tables,
)
from conveyor_commerce.sandbox import SandboxServer
from conveyor_commerce.whatsapp.accounts import Account
from tests.commerce.conftest import TEST_SETTINGS, TOKEN, _truncate_commerce
from tests.conftest import FAST

C, R = CampaignStatus, RecipientStatus
FAST_NUMBER = "306540352242922"
OTHER_NUMBER = "406540352242922"
HELLO = Template("hello_world", "en_US")


def numbers(count: int, start: int = 0) -> list[str]:
    """Valid Polish mobile numbers, E.164 digits."""
    return [f"48600{start + i:06d}" for i in range(count)]


LIVE_SETTINGS = dataclasses.replace(
    TEST_SETTINGS, ambiguous_grace=0.5,
    campaigns=CampaignSettings(slice=25, backoff=(0.2, 0.5, 1.0), paused_recheck=0.2))


def live_kit(url: str) -> Commerce:
    """The kit on an app with the real clock (campaigns pace in real time)."""
    return Commerce(Conveyor(url, settings=FAST), settings=LIVE_SETTINGS)


@pytest.fixture
def live(url: str) -> Iterator[Commerce]:
    _truncate_commerce(url)
    kit = live_kit(url)
    kit.migrate()
    yield kit
    kit.close()
    kit.app.close()


@contextlib.contextmanager
def worker(url: str) -> Iterator[None]:
    """A Conveyor worker in a thread (its own app and kit, its own event loop), serving the
    kit's queue until the block ends."""
    kit = live_kit(url)
    loop = asyncio.new_event_loop()
    running = runner.Worker(kit.app, runner.WorkerConfig(
        queues=(kit.settings.queue,), concurrency=10, install_signals=False,
        heartbeat_thread=False, idle_wait=0.1))
    thread = threading.Thread(target=loop.run_until_complete, args=(running.run(),),
                              daemon=True)
    thread.start()
    try:
        yield
    finally:
        loop.call_soon_threadsafe(running.request_stop)
        thread.join(timeout=30)
        kit.close()
        kit.app.close()


@pytest.fixture
def fast(live: Commerce, sandbox: SandboxServer) -> Account:
    sandbox.state.add_number(FAST_NUMBER, TOKEN, throughput=1000)
    return live.accounts.add("fast", FAST_NUMBER, TOKEN, base_url=sandbox.url,
                             throughput=1000, send_rate=1000)


def run_until_final(kit: Commerce, campaign_id: int, timeout: float = 60) -> Campaign:
    """Run the kit's jobs here (bursts) until the campaign has ended."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        kit.app.drain([kit.settings.queue])
        campaign = kit.campaigns.get(campaign_id)
        if campaign.status in (C.COMPLETED, C.FAILED, C.CANCELLED) \
                and campaign.summary is not None:
            return campaign
        time.sleep(0.05)
    raise AssertionError(f"campaign {campaign_id} still {kit.campaigns.get(campaign_id)}")


def counters(campaign: Campaign) -> dict[str, int]:
    return {"sent": campaign.sent, "failed": campaign.failed, "skipped": campaign.skipped,
            "pending": campaign.pending}


def tallied(kit: Commerce, campaign_id: int) -> dict[str, int]:
    found = kit.campaigns.tally(campaign_id)
    return {"sent": found["sent"], "failed": found["failed"], "skipped": found["skipped"],
            "pending": found["pending"] + found["processing"]}


def test_a_small_campaign_sends_each_valid_number_once(live: Commerce, fast: Account,
                                                       sandbox: SandboxServer) -> None:
    live.campaigns.opt_out(["+48 600 000 003"], reason="asked by chat")
    done: list[Campaign] = []
    live.campaigns.on_success(done.append)
    given = [*numbers(10), "+48600000001", "48 600 000 002", "not a number", "+1 555"]
    campaign = live.campaigns.create("spring sale", "fast", HELLO, given, chunk_size=4)
    assert (campaign.status, campaign.recipients, campaign.invalid, campaign.duplicates,
            campaign.opted_out, campaign.pending) == (C.RUNNING, 12, 2, 2, 1, 9)
    ended = run_until_final(live, campaign.id)
    assert ended.status == C.COMPLETED and counters(ended) == tallied(live, campaign.id)
    assert counters(ended) == {"sent": 9, "failed": 0, "skipped": 3, "pending": 0}
    log = sandbox.state.sent_log()
    assert sorted(r.to for r in log) == sorted(set(numbers(10)) - {"48600000003"})
    rows = live.campaigns.recipients(campaign.id, statuses=[R.SENT], limit=1000)
    assert {r.wamid for r in rows} == {r.wamid for r in log}
    skipped = {r.phone: r.reason for r in live.campaigns.recipients(
        campaign.id, statuses=[R.SKIPPED])}
    assert skipped["48600000003"] == "opted out"
    assert sum(1 for reason in skipped.values() if reason.startswith("invalid number")) == 2
    assert ended.summary is not None and ended.summary["sent"] == 9
    assert [c.id for c in done] == [campaign.id]


def sent_per_recipient(sandbox: SandboxServer, number: str = FAST_NUMBER) -> Counter[str]:
    return Counter(r.to for r in sandbox.state.sent_log() if r.phone_number_id == number)


BIG = int(os.environ.get("CONVEYOR_CAMPAIGN_RECIPIENTS", "1000"))
"""Recipients of the big campaign: the issue's 10,000 with CONVEYOR_CAMPAIGN_RECIPIENTS=10000
(minutes per backend on a loaded 2-core machine, where the in-process sandbox, worker and
test share one interpreter); 1,000 by default to keep the suite short."""


def test_a_big_campaign_with_throttling_and_failures_ends_with_one_outcome_each(
        live: Commerce, fast: Account, sandbox: SandboxServer) -> None:
    given = numbers(BIG)
    refused = given[7::50]  # 2 %
    for recipient in refused:
        sandbox.state.inject("error", code=131026, recipient=recipient)
    sandbox.state.inject("error", code=130429, times=3, number=FAST_NUMBER)
    started = time.monotonic()
    campaign = live.campaigns.create("ten thousand", "fast", HELLO, iter(given))
    ended = run_until_final(live, campaign.id, timeout=900)
    took = time.monotonic() - started
    assert ended.status == C.COMPLETED
    assert counters(ended) == tallied(live, campaign.id) == {
        "sent": BIG - len(refused), "failed": len(refused), "skipped": 0, "pending": 0}
    per = sent_per_recipient(sandbox)
    assert len(per) == BIG - len(refused) and set(per.values()) == {1}  # nobody twice
    assert not set(per) & set(refused)
    with live.db.begin() as conn:
        RC = tables.campaign_recipients
        rows = conn.execute(sa.select(RC.c.phone, RC.c.status, RC.c.wamid, RC.c.error_code)
                            .where(RC.c.campaign_id == campaign.id)).all()
    assert len(rows) == BIG and len({r.phone for r in rows}) == BIG
    assert {r.wamid for r in rows if r.status == "sent"} == \
        {r.wamid for r in sandbox.state.sent_log()}
    assert {r.phone for r in rows if r.status == "failed"} == set(refused)
    assert {r.error_code for r in rows if r.status == "failed"} == {131026}
    assert sandbox.state.refused[130429] >= 3
    assert ended.summary is not None
    assert ended.summary["failures_by_code"] == {"131026": len(refused)}
    print(f"\n{BIG} recipients at 1000/s with 3 x 130429: {took:.1f} s, "
          f"{BIG / took:.0f}/s overall, {sandbox.state.refused[130429]} throttled")


def max_in_window(times: list[float], window: float = 1.0) -> int:
    """The most sends in any half-open window [t, t + window) over the times."""
    times, best, start = sorted(times), 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def test_cancel_mid_way_sends_nothing_after_it_returns(url: str, live: Commerce,
                                                      sandbox: SandboxServer) -> None:
    sandbox.state.add_number(FAST_NUMBER, TOKEN, throughput=1000)
    live.accounts.add("steady", FAST_NUMBER, TOKEN, base_url=sandbox.url, throughput=1000,
                      send_rate=250)
    campaign = live.campaigns.create("to cancel", "steady", HELLO, numbers(3_000))
    with worker(url):
        deadline = time.monotonic() + 60
        while live.campaigns.get(campaign.id).sent < 100:
            assert time.monotonic() < deadline, "the campaign did not start sending"
            time.sleep(0.02)
        asked = time.time()
        cancelled = live.campaigns.cancel(campaign.id)
        returned = time.time()
        time.sleep(1.0)  # the worker goes on running whatever it still has
    log = [r for r in sandbox.state.sent_log() if r.phone_number_id == FAST_NUMBER]
    after = [r for r in log if r.at > returned]
    in_flight = [r for r in log if asked < r.at <= returned]
    assert cancelled.status == C.CANCELLED and after == []
    final = live.campaigns.get(campaign.id)
    assert counters(final) == tallied(live, campaign.id) == counters(cancelled)
    assert final.sent == len(log) and final.pending == 0
    assert final.skipped == 3_000 - final.sent - final.failed > 1_000
    assert {r.to for r in log} == {r.phone for r in live.campaigns.recipients(
        campaign.id, statuses=[R.SENT], limit=1000)}
    assert {r.reason for r in live.campaigns.recipients(campaign.id, statuses=[R.SKIPPED])} \
        == {"campaign cancelled"}
    # the number's rate (250/s, the sandbox would take 1000/s) held in every 1 s window, give
    # or take the machine's jitter between a request's moment and its arrival
    assert max_in_window([r.at for r in log]) <= 250 * 1.1
    print(f"\ncancel after {final.sent - len(in_flight)} sends: {len(in_flight)} requests "
          f"already on their way were recorded, {len(after)} sent after the cancel returned "
          f"({(returned - asked) * 1000:.0f} ms)")


def test_a_retried_chunk_never_resends_a_recipient_with_a_wamid(
        live: Commerce, fast: Account, sandbox: SandboxServer) -> None:
    given = numbers(30)
    sandbox.state.inject("error", code=131000, recipient=given[5])  # transient, once
    sandbox.state.inject("timeout_after_accept", delay=1.5, recipient=given[9])  # answer lost
    campaign = live.campaigns.create("retried", "fast", HELLO, given, chunk_size=30)
    ended = run_until_final(live, campaign.id)
    assert counters(ended) == {"sent": 30, "failed": 0, "skipped": 0, "pending": 0}
    per = sent_per_recipient(sandbox)
    chunk_job = next(j for j in live.app.jobs() if j.name.endswith("campaigns.chunk"))
    assert chunk_job.attempt >= 2  # the chunk ran again for the two unsettled recipients
    assert {phone: n for phone, n in per.items() if n > 1} == {given[9]: 2}
    assert sum(per.values()) == 31  # only the lost answer was sent again (policy "resend")
    [again] = live.campaigns.recipients(campaign.id, phone=given[5])
    assert again.status == R.SENT and again.attempts == 2


def test_a_single_message_on_another_number_is_not_delayed_by_a_campaign(
        url: str, live: Commerce, fast: Account, sandbox: SandboxServer) -> None:
    sandbox.state.add_number(OTHER_NUMBER, TOKEN, throughput=80)
    live.accounts.add("other", OTHER_NUMBER, TOKEN, base_url=sandbox.url, send_rate=10)
    campaign = live.campaigns.create("busy", "fast", HELLO, numbers(1_500))
    with worker(url):
        while live.campaigns.get(campaign.id).sent < 100:
            time.sleep(0.02)
        message = live.messages.schedule("other", "48700000001", "your parcel", offset=0.5)
        deadline = time.monotonic() + 30
        while live.messages.get(message.id).status != MessageStatus.SENT:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        running = live.campaigns.get(campaign.id)
    log = sandbox.state.sent_log()
    [record] = [r for r in log if r.phone_number_id == OTHER_NUMBER]
    due = message.scheduled_at.timestamp()
    delay = record.at - due
    meanwhile = sum(1 for r in log if r.phone_number_id == FAST_NUMBER and due <= r.at < record.at)
    print(f"\nsingle message sent {delay * 1000:.0f} ms after its time, the campaign at "
          f"{running.sent}/1500, {meanwhile} campaign sends in between")
    # It went out while the campaign still had a third of its recipients to send: it did not
    # queue behind them (then nothing would be pending). Judged by the campaign's progress (a
    # slower machine slows both), not by the delay in seconds (bench/campaign.py measures that
    # on an unloaded worker); 975 of 1,500 were pending once beside other tests' load.
    assert running.pending > 500
    assert delay >= 0  # never before its time


def test_bad_inputs_are_refused_clearly_and_store_nothing(live: Commerce, fast: Account,
                                                         tmp_path: Path) -> None:
    def refused(source: object, match: str, **options: object) -> None:
        with pytest.raises(InvalidCampaign, match=match):
            live.campaigns.create("bad", options.pop("account", "fast"),
                                  options.pop("content", HELLO), source, **options)

    nul = tmp_path / "nul.csv"
    nul.write_bytes(b"phone\n48600000001\n4860\x000000002\n")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("phone,name\n48600000001,Zoë\n".encode("latin-1"))
    columns = tmp_path / "columns.csv"
    columns.write_text("name,city\nAda,Kraków\n")
    quote = tmp_path / "quote.csv"
    quote.write_text('phone\n"48600000001\n')
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    refused(nul, "line 3: a NUL byte")
    refused(latin, "line 2: not UTF-8")
    refused(columns, "no phone column")
    refused(quote, "line 2")
    refused(empty, "the list is empty")
    refused(tmp_path / "missing.csv", "no CSV file")
    refused(numbers(3), "chunk_size", chunk_size=0)
    refused(numbers(3), "content", content=Template("", "en_US"))
    with pytest.raises(AccountNotFound):
        live.campaigns.create("bad", "nobody", HELLO, numbers(3))
    assert live.campaigns.list() == []
    with live.db.begin() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(
            tables.campaign_recipients)).scalar_one() == 0
    # bad numbers are skipped with their reason, the rest is sent
    mixed = live.campaigns.preview(["+48 600 000 001", "12", "+48600000001", "abc"])
    assert (mixed.valid, mixed.invalid, mixed.duplicates) == (1, 2, 1)
    assert [line for line, _, _ in mixed.examples] == [2, 4]


def test_an_unknown_template_fails_the_campaign_with_the_reason(
        live: Commerce, fast: Account, sandbox: SandboxServer) -> None:
    failed: list[Campaign] = []
    live.campaigns.on_failure(failed.append)
    campaign = live.campaigns.create("typo", "fast", Template("helo_world", "en_US"),
                                     numbers(500))
    ended = run_until_final(live, campaign.id)
    assert ended.status == C.FAILED and ended.error is not None
    assert "132001" in ended.error and "every recipient" in ended.error
    assert ended.sent == 0 and ended.failed + ended.skipped == 500
    assert ended.skipped >= 400  # never tried: the first answer stopped the campaign
    assert counters(ended) == tallied(live, campaign.id)
    assert [c.id for c in failed] == [campaign.id]


def test_pause_and_resume(url: str, live: Commerce, fast: Account,
                          sandbox: SandboxServer) -> None:
    campaign = live.campaigns.create("paused", "fast", HELLO, numbers(400))
    with worker(url):
        while live.campaigns.get(campaign.id).sent < 50:
            time.sleep(0.02)
        paused = live.campaigns.pause(campaign.id)
        while live.campaigns.tally(campaign.id)["processing"]:  # slices already claimed
            time.sleep(0.02)
        held = live.campaigns.get(campaign.id).sent
        time.sleep(1.0)
        assert live.campaigns.get(campaign.id).sent == held < 400
        with pytest.raises(InvalidCampaign, match="only a running campaign can pause"):
            live.campaigns.pause(campaign.id)
        live.campaigns.resume(campaign.id)
        deadline = time.monotonic() + 60
        while live.campaigns.get(campaign.id).status != C.COMPLETED:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    assert paused.status == C.PAUSED
    assert set(sent_per_recipient(sandbox).values()) == {1}
    assert counters(live.campaigns.get(campaign.id))["sent"] == 400


def _cli(kit: Commerce, *args: str, stdin: str | None = None) -> Result:
    obj = context.CliContext(app_spec=None, url=None, _app=kit.app)
    return CliRunner(env={"COLUMNS": "250"}).invoke(cli, ["commerce", "campaigns", *args],
                                                    obj=obj, input=stdin)


def test_campaigns_from_the_command_line(live: Commerce, fast: Account,
                                         tmp_path: Path) -> None:
    listing = tmp_path / "customers.csv"
    listing.write_text("name,phone\nAda,+48 600 000 001\nBob,+48600000002\nEve,12\n"
                       "Ada again,48600000001\n")
    assert _cli(live, "opt-out", "+48600000002", "--reason", "STOP").exit_code == 0
    preview = _cli(live, "create", "--name", "x", "--account", "fast", "--csv", str(listing),
                   "--template", "hello_world", "--preview")
    assert preview.exit_code == 0, preview.output
    assert "4 rows: 1 valid, 1 invalid, 1 duplicates, 1 opted out" in preview.output
    assert live.campaigns.list() == []  # a preview stores nothing
    made = _cli(live, "create", "--name", "launch", "--account", "fast", "--csv", "-",
                "--template", "hello_world", "--draft", "--json",
                stdin=listing.read_text())
    assert made.exit_code == 0, made.output
    shown = orjson.loads(made.output)
    assert (shown["status"], shown["recipients"], shown["pending"]) == ("draft", 3, 1)
    listed = _cli(live, "list")
    assert "launch" in listed.output and "draft" in listed.output
    assert "paused" not in _cli(live, "pause", str(shown["id"])).output
    assert "only a running campaign can pause" in _cli(live, "pause", str(shown["id"])).output
    cancelled = _cli(live, "cancel", str(shown["id"]))
    assert cancelled.exit_code == 0 and "cancelled" in cancelled.output
    details = _cli(live, "show", str(shown["id"]), "--recipients", "skipped")
    assert "campaign cancelled" in details.output and "opted out" in details.output
    bad = _cli(live, "create", "--name", "x", "--account", "fast", "--to", "48600000001",
               "--template", "hello_world", "--text", "hi")
    assert bad.exit_code == 2 and "--text or --template" in bad.output
    missing = _cli(live, "show", "999")
    assert missing.exit_code == 1 and "no campaign with id 999" in missing.output
