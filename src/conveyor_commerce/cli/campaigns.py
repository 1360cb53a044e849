"""`conveyor commerce campaigns create|list|show|pause|resume|cancel|opt-out`.

`create` reads recipients from a CSV file (`--csv`, `-` for stdin) or `--to` numbers,
prints the preview (valid, invalid, duplicate, opted-out) and starts the campaign unless
`--preview` (nothing stored) or `--draft` (stored, not started)."""

from __future__ import annotations

import sys
from datetime import datetime

import click

from conveyor_commerce.campaigns.model import Campaign, CampaignStatus, RecipientStatus
from conveyor_commerce.campaigns.sources import Source
from conveyor_commerce.cli import common
from conveyor_commerce.whatsapp.payloads import Content, Template, Text


@click.group()
def campaigns() -> None:
    """Broadcast campaigns: one message to a list of recipients."""


def _content(text: str | None, template: str | None, language: str,
             params: tuple[str, ...]) -> Content:
    if (text is None) == (template is None):
        raise click.UsageError("give --text or --template (one of them)")
    return Template(template, language, body=params) if template is not None \
        else Text(text or "")


def _source(csv: str | None, to: tuple[str, ...]) -> Source:
    if (csv is None) == (not to):
        raise click.UsageError("give the recipients with --csv FILE (or - for stdin) or --to "
                               "(repeatable), not both")
    if csv == "-":
        return sys.stdin.buffer
    return csv if csv is not None else list(to)


@campaigns.command("create")
@click.option("--name", required=True, help="What the campaign is called in listings.")
@click.option("--account", required=True, help="Sending account name or id.")
@click.option("--csv", help="CSV file of recipients (a phone column, or numbers in the first "
              "column); - reads stdin.")
@click.option("--to", "to", multiple=True, help="A recipient; repeatable.")
@click.option("--text", help="Text body (recipients inside the 24 h window only).")
@click.option("--template", help="Approved template name.")
@click.option("--language", default="en_US", show_default=True)
@click.option("--param", "params", multiple=True, help="Template body parameter; repeatable.")
@click.option("--chunk-size", type=click.IntRange(1, 1000), help="Recipients per job "
              "(default 50).")
@click.option("--preview", is_flag=True, help="Only count valid/invalid/duplicate/opted-out "
              "rows; store nothing.")
@click.option("--draft", is_flag=True, help="Store the campaign without starting it.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def create(ctx: click.Context, name: str, account: str, csv: str | None, to: tuple[str, ...],
           text: str | None, template: str | None, language: str, params: tuple[str, ...],
           chunk_size: int | None, preview: bool, draft: bool, as_json: bool) -> None:
    """Create a campaign (and start it, unless --draft or --preview)."""
    content = _content(text, template, language, params)
    source = _source(csv, to)
    with common.kit(ctx) as kit:
        if preview:
            found = kit.campaigns.preview(source)
            if as_json:
                common.emit_json(found)
                return
            click.echo(f"{found.rows} rows: {found.valid} valid, {found.invalid} invalid, "
                       f"{found.duplicates} duplicates, {found.opted_out} opted out")
            for line, value, why in found.examples:
                click.echo(f"  line {line}: {value!r}: {why}")
            return
        campaign = kit.campaigns.create(name, _account(account), content, source,
                                        chunk_size=chunk_size, start=not draft)
        _print(campaign, kit.now(), as_json)


@campaigns.command("list")
@click.option("--status", "statuses", multiple=True,
              type=click.Choice([s.value for s in CampaignStatus]))
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def list_(ctx: click.Context, statuses: tuple[str, ...], limit: int, as_json: bool) -> None:
    """Campaigns, newest first, with their progress."""
    with common.kit(ctx) as kit:
        found, now = kit.campaigns.list(statuses=statuses, limit=limit), kit.now()
        if as_json:
            common.emit_json([_row(c, now) for c in found])
            return
        common.table("Campaigns", ["id", "name", "status", "account", "sent", "failed",
                                   "skipped", "pending", "done", "rate/s", "ETA s"],
                     [[c.id, c.name, c.status.value, c.account_id, c.sent, c.failed,
                       c.skipped, c.pending, f"{p.percent}%", p.rate,
                       "" if p.eta_seconds is None else p.eta_seconds]
                      for c in found for p in [c.progress(now)]])




@campaigns.command("show")
@click.argument("campaign_id", type=int)
@click.option("--recipients", "status", type=click.Choice([s.value for s in RecipientStatus]),
              help="Also list recipients with this outcome.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def show(ctx: click.Context, campaign_id: int, status: str | None, limit: int,
         as_json: bool) -> None:
    """One campaign: progress, rate, ETA, summary; optionally its recipients."""
    with common.kit(ctx) as kit:
        campaign = kit.campaigns.get(campaign_id)
        rows = kit.campaigns.recipients(campaign_id, statuses=[status], limit=limit) \
            if status else []
        if as_json:
            common.emit_json({**_row(campaign, kit.now()), "recipients": rows})
            return
        _print(campaign, kit.now(), False)
        if status:
            common.table(f"Recipients {status}", ["id", "phone", "wamid", "code", "reason",
                                                  "tries"],
                         [[r.id, r.phone, r.wamid, r.error_code, r.reason, r.attempts]
                          for r in rows])


def _action(verb: str) -> click.Command:
    @click.command(verb)
    @click.argument("campaign_id", type=int)
    @click.pass_context
    def command(ctx: click.Context, campaign_id: int) -> None:
        with common.kit(ctx) as kit:
            changed = getattr(kit.campaigns, verb)(campaign_id)
            click.echo(f"campaign {changed.id}: {changed.status.value} (sent {changed.sent}, "
                       f"failed {changed.failed}, skipped {changed.skipped}, pending "
                       f"{changed.pending})")

    command.help = {"pause": "Pause a running campaign (within one slice of recipients).",
                    "resume": "Resume a paused campaign where it stopped.",
                    "cancel": "Cancel for good: nothing is sent once this returns; the "
                              "recipients left are skipped."}[verb]
    return command


for _verb in ("pause", "resume", "cancel"):
    campaigns.add_command(_action(_verb))


@campaigns.command("opt-out")
@click.argument("numbers", nargs=-1, required=True)
@click.option("--reason", default="", help="Why (kept with the number).")
@click.option("--remove", is_flag=True, help="Take the numbers off the list instead.")
@click.pass_context
def opt_out(ctx: click.Context, numbers: tuple[str, ...], reason: str, remove: bool) -> None:
    """Add numbers to (or with --remove take them off) the opt-out list."""
    with common.kit(ctx) as kit:
        if remove:
            gone = sum(kit.campaigns.opt_in(n) for n in numbers)
            click.echo(f"{gone} numbers taken off the opt-out list")
        else:
            click.echo(f"{kit.campaigns.opt_out(numbers, reason)} numbers added to the "
                       "opt-out list")


def _account(value: str) -> int | str:
    return int(value) if value.isdigit() else value


def _row(campaign: Campaign, now: datetime) -> dict[str, object]:
    progress = campaign.progress(now)
    return {"id": campaign.id, "name": campaign.name, "status": campaign.status.value,
            "account_id": campaign.account_id, "content": campaign.describe(),
            "recipients": campaign.recipients, "sent": campaign.sent,
            "failed": campaign.failed, "skipped": campaign.skipped,
            "pending": campaign.pending, "invalid": campaign.invalid,
            "duplicates": campaign.duplicates, "opted_out": campaign.opted_out,
            "percent": progress.percent, "rate": progress.rate, "eta_seconds":
            progress.eta_seconds, "batch_id": campaign.batch_id, "error": campaign.error,
            "summary": campaign.summary, "created_at": campaign.created_at,
            "started_at": campaign.started_at, "finished_at": campaign.finished_at}


def _print(campaign: Campaign, now: datetime, as_json: bool) -> None:
    if as_json:
        common.emit_json(_row(campaign, now))
        return
    progress = campaign.progress(now)
    eta = "" if progress.eta_seconds is None else f", ETA {progress.eta_seconds:g} s"
    click.echo(f"campaign {campaign.id} {campaign.name!r}: {campaign.status.value} - "
               f"{campaign.describe()}")
    click.echo(f"  recipients {campaign.recipients} (invalid {campaign.invalid}, opted out "
               f"{campaign.opted_out}, duplicates dropped {campaign.duplicates})")
    click.echo(f"  sent {campaign.sent}, failed {campaign.failed}, skipped "
               f"{campaign.skipped}, pending {campaign.pending} - {progress.percent}% at "
               f"{progress.rate}/s{eta}")
    if campaign.error:
        click.echo(f"  error: {campaign.error}")
