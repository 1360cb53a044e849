"""`conveyor commerce ...` through the real `conveyor` command (the plugin entry point)."""

from __future__ import annotations

from datetime import timedelta, timezone

import orjson
from click.testing import CliRunner, Result

from conveyor import JobState
from conveyor.cli import context
from conveyor.cli.main import cli
from conveyor_commerce import Commerce, MessageStatus
from conveyor_commerce.sandbox import SandboxServer
from conveyor_commerce.whatsapp.accounts import Account
from tests.commerce.conftest import NUMBER, drain

M = MessageStatus


def _run(kit: Commerce, *args: str, stdin: str | None = None) -> Result:
    obj = context.CliContext(app_spec=None, url=None, _app=kit.app)
    return CliRunner(env={"COLUMNS": "250"}).invoke(cli, ["commerce", *args], obj=obj, input=stdin)


def test_the_plugin_group_is_there() -> None:
    result = CliRunner().invoke(cli, ["commerce", "--help"])
    assert result.exit_code == 0
    for group in ("accounts", "messages", "sandbox", "webhook"):
        assert group in result.output
    sandbox_help = CliRunner().invoke(cli, ["commerce", "sandbox", "whatsapp", "--help"])
    assert "--port" in sandbox_help.output


def test_accounts_from_the_command_line(kit: Commerce, sandbox: SandboxServer) -> None:
    added = _run(kit, "accounts", "add", "cli-shop", "--phone-number-id", NUMBER,
                 "--base-url", sandbox.url, "--send-rate", "5", "--token-stdin",
                 stdin="EAAG-from-stdin\n")
    assert added.exit_code == 0, added.output
    listed = orjson.loads(_run(kit, "accounts", "list", "--json").output)
    assert listed[0]["name"] == "cli-shop" and listed[0]["send_rate"] == 5
    bad = _run(kit, "accounts", "update", "cli-shop", "--send-rate", "500")
    assert bad.exit_code == 1 and "at most the number's throughput" in bad.output
    rotated = _run(kit, "accounts", "rotate-token", "cli-shop", "--token-stdin", stdin="new\n")
    assert rotated.exit_code == 0 and "active" in rotated.output


def test_messages_from_the_command_line(kit: Commerce, account: Account,
                                        sandbox: SandboxServer) -> None:
    scheduled = _run(kit, "messages", "schedule", "--account", "shop", "--to", "+48600100200",
                     "--text", "Hello", "--in", "+30m", "--json")
    assert scheduled.exit_code == 0, scheduled.output
    first = orjson.loads(scheduled.output)
    template = _run(kit, "messages", "schedule", "--account", "shop", "--to", "+48600100201",
                    "--template", "order_update", "--param", "Alex", "--param", "A1",
                    "--at", "2030-05-01T09:00", "--tz", "Europe/Warsaw", "--json")
    second = orjson.loads(template.output)
    assert second["scheduled_at"] == "2030-05-01T07:00:00+00:00"
    refused = _run(kit, "messages", "schedule", "--account", "shop", "--to", "123",
                   "--text", "x")
    assert refused.exit_code == 1 and "not a valid international number" in refused.output
    edited = _run(kit, "messages", "edit", str(first["id"]), "--text", "Changed", "--in", "+5m")
    assert edited.exit_code == 0 and "Changed" in edited.output
    listing = orjson.loads(_run(kit, "messages", "list", "--status", "pending", "--json").output)
    assert {m["id"] for m in listing} == {first["id"], second["id"]}
    preview = _run(kit, "messages", "cancel", "--status", "pending", "--dry-run")
    assert "cancel (dry run): 2 message(s)" in preview.output
    assert kit.messages.get(first["id"]).status == M.PENDING
    assert "cancel: 1 message" in _run(kit, "messages", "cancel", str(second["id"])).output
    assert kit.app.get(second["job_id"]).state == JobState.CANCELLED
    assert _run(kit, "messages", "retry", str(second["id"])).exit_code == 1
    assert "delete: 1 message" in _run(kit, "messages", "delete", str(second["id"])).output
    shown = _run(kit, "messages", "show", str(first["id"]))
    assert "pending" in shown.output and "Changed" in shown.output
    assert _run(kit, "messages", "cancel").exit_code == 2  # neither ids nor a filter
    kit.app.clock.advance(600)  # type: ignore[attr-defined]
    drain(kit)
    assert kit.messages.get(first["id"]).status == M.SENT


def test_list_and_bulk_by_a_window_of_scheduled_times(kit: Commerce, account: Account) -> None:
    soon = kit.messages.schedule("shop", "+48600100200", "soon", offset="+5m")
    later = kit.messages.schedule("shop", "+48600100201", "later", offset="+1d")
    cut = (kit.now() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
    listed = _run(kit, "messages", "list", "--since", cut, "--json")
    assert [m["id"] for m in orjson.loads(listed.output)] == [later.id]
    cut_local = (kit.now() + timedelta(hours=1)).astimezone(timezone(timedelta(hours=2)))
    dry = _run(kit, "messages", "cancel", "--until", cut_local.isoformat(), "--dry-run")
    assert dry.output.strip() == "cancel (dry run): 1 message(s)"
    assert _run(kit, "messages", "cancel", "--until", cut).exit_code == 0
    assert kit.messages.get(soon.id).status == M.CANCELLED
    assert kit.messages.get(later.id).status == M.PENDING
    bad = _run(kit, "messages", "list", "--since", "tomorrow")
    assert bad.exit_code == 2 and "--since" in bad.output
