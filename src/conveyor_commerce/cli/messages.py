"""`conveyor commerce messages schedule|list|show|edit|cancel|retry|delete`.

cancel, retry and delete take message ids, or a filter (`--status`, `--account`, ...) for a
bulk action; `--dry-run` prints how many messages the action would change."""

from __future__ import annotations

import click

from conveyor_commerce.cli import common
from conveyor_commerce.kit import Commerce
from conveyor_commerce.messages.model import Message, MessageFilter, MessageStatus
from conveyor_commerce.messages.service import describe
from conveyor_commerce.messages.timing import QUICK_OFFSETS
from conveyor_commerce.whatsapp.payloads import Content, Template, Text

STATUSES = click.Choice([s.value for s in MessageStatus])


@click.group()
def messages() -> None:
    """Scheduled WhatsApp messages."""


def _content(text: str | None, template: str | None, language: str,
             params: tuple[str, ...]) -> Content | None:
    if text is not None and template is not None:
        raise click.UsageError("give --text or --template, not both")
    if template is not None:
        return Template(template, language, body=params)
    return Text(text) if text is not None else None


def _when(options: tuple[str | None, str | None]) -> dict[str, str]:
    at, offset = options
    return {k: v for k, v in (("at", at), ("offset", offset)) if v is not None}


def time_options(func: click.decorators.FC) -> click.decorators.FC:
    """Scheduled-time window of a filter (the dashboard's list offers the same)."""
    func = click.option("--until", help="Scheduled before this ISO time (UTC unless it has "
                        "an offset).")(func)
    return click.option("--since", help="Scheduled at or after this ISO time (UTC unless it "
                        "has an offset).")(func)


def content_options(func: click.decorators.FC) -> click.decorators.FC:
    for option in reversed([
        click.option("--text", help="Text body (inside the 24 h window)."),
        click.option("--template", help="Approved template name."),
        click.option("--language", default="en_US", show_default=True),
        click.option("--param", "params", multiple=True, help="Template body parameter, in "
                     "order; repeatable."),
        click.option("--at", help="ISO time, e.g. 2026-05-01T09:00 (with --tz) or with offset."),
        click.option("--in", "offset", help=f"Quick offset: {', '.join(QUICK_OFFSETS)} (or "
                     "+90s, +2h ...)."),
        click.option("--tz", help="Time zone of --at, e.g. Europe/Warsaw."),
    ]):
        func = option(func)
    return func


@messages.command("schedule")
@click.option("--account", required=True, help="Account name or id.")
@click.option("--to", "to", required=True, help="Recipient, international format.")
@content_options
@click.option("--max-retries", default=3, show_default=True, type=click.IntRange(0, 5))
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def schedule(ctx: click.Context, account: str, to: str, text: str | None,
             template: str | None, language: str, params: tuple[str, ...], at: str | None,
             offset: str | None, tz: str | None, max_retries: int, as_json: bool) -> None:
    """Schedule a message (at least the minimum lead ahead, 5 minutes by default)."""
    content = _content(text, template, language, params)
    if content is None:
        raise click.UsageError("give --text or --template")
    with common.kit(ctx) as kit:
        message = kit.messages.schedule(_account(account), to, content, tz=tz,
                                        max_retries=max_retries, **_when((at, offset)))
    _show(message, as_json)


@messages.command("list")
@click.option("--status", "statuses", multiple=True, type=STATUSES, help="Repeatable.")
@click.option("--account", help="Account name or id.")
@click.option("--to", "recipient", help="Recipient.")
@click.option("--search", help="Text in the message content.")
@time_options
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--before-id", type=int, help="Page: only ids below this one.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def list_messages(ctx: click.Context, statuses: tuple[str, ...], account: str | None,
                  recipient: str | None, search: str | None, since: str | None,
                  until: str | None, limit: int, before_id: int | None,
                  as_json: bool) -> None:
    """List messages, newest first."""
    with common.kit(ctx) as kit:
        where = _filter(kit, (), statuses, account, recipient, search, (since, until))
        found = kit.messages.list(where, limit=limit, after_id=before_id)
    if as_json:
        common.emit_json([describe(m) for m in found])
        return
    common.table("messages", ["id", "account", "to", "status", "scheduled_at", "retries",
                              "content", "wamid", "delivery", "error"],
                 [[m.id, m.account_id, m.recipient, m.status, m.scheduled_at,
                   f"{m.retry_count}/{m.max_retries}", m.summary(40), m.meta_message_id,
                   m.delivery_status, _error(m)] for m in found])


@messages.command("show")
@click.argument("message_id", type=int)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def show(ctx: click.Context, message_id: int, as_json: bool) -> None:
    """Everything about one message."""
    with common.kit(ctx) as kit:
        message = kit.messages.get(message_id)
    _show(message, as_json)


@messages.command("edit")
@click.argument("message_id", type=int)
@click.option("--to", "to", help="New recipient.")
@content_options
@click.option("--max-retries", type=click.IntRange(0, 5))
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def edit(ctx: click.Context, message_id: int, to: str | None, text: str | None,
         template: str | None, language: str, params: tuple[str, ...], at: str | None,
         offset: str | None, tz: str | None, max_retries: int | None, as_json: bool) -> None:
    """Change a pending or failed message (it becomes pending; its job moves)."""
    with common.kit(ctx) as kit:
        message = kit.messages.edit(message_id, to=to, tz=tz, max_retries=max_retries,
                                    content=_content(text, template, language, params),
                                    **_when((at, offset)))
    _show(message, as_json)


def _bulk(action: str, help_text: str) -> click.Command:
    @click.argument("ids", nargs=-1, type=int)
    @click.option("--status", "statuses", multiple=True, type=STATUSES)
    @click.option("--account", help="Account name or id.")
    @click.option("--to", "recipient", help="Recipient.")
    @click.option("--search", help="Text in the message content.")
    @time_options
    @click.option("--dry-run", is_flag=True, help="Only say how many would change.")
    @click.pass_context
    def command(ctx: click.Context, ids: tuple[int, ...], statuses: tuple[str, ...],
                account: str | None, recipient: str | None, search: str | None,
                since: str | None, until: str | None, dry_run: bool) -> None:
        if not (ids or statuses or account or recipient or search or since or until):
            raise click.UsageError("give message ids or a filter (--status, --account, ...)")
        with common.kit(ctx) as kit:
            if len(ids) == 1 and not dry_run and action != "delete":
                getattr(kit.messages, action)(ids[0])
                click.echo(f"{action}: 1 message")
                return
            where = _filter(kit, ids, statuses, account, recipient, search, (since, until))
            result = kit.messages.bulk(action, where, dry_run=dry_run)
        click.echo(f"{action}{' (dry run)' if dry_run else ''}: {result.count} message(s)")

    command.__doc__ = help_text
    return click.command(action)(command)


messages.add_command(_bulk("cancel", "Cancel pending messages (ids or a filter)."))
messages.add_command(_bulk("retry", "Send failed messages again now (ids or a filter)."))
messages.add_command(_bulk("delete", "Delete messages not being sent (ids or a filter)."))


def _account(value: str) -> int | str:
    return int(value) if value.isdigit() else value


def _filter(kit: Commerce, ids: tuple[int, ...], statuses: tuple[str, ...],
            account: str | None, recipient: str | None, search: str | None,
            window: tuple[str | None, str | None] = (None, None)) -> MessageFilter:
    from conveyor_commerce.whatsapp.payloads import normalize_number

    accounts = [kit.accounts.get(_account(account)).id] if account else []
    return MessageFilter(ids=ids, statuses=[MessageStatus(s) for s in statuses],
                         account_ids=accounts, text=search,
                         recipient=normalize_number(recipient) if recipient else None,
                         scheduled_after=common.moment(window[0], "--since"),
                         scheduled_before=common.moment(window[1], "--until"))


def _error(message: Message) -> str:
    if message.error_code is None and not message.error_title:
        return ""
    return f"(#{message.error_code}) {message.error_title or ''}"[:60]


def _show(message: Message, as_json: bool) -> None:
    data = describe(message)
    if as_json:
        common.emit_json(data)
        return
    common.table(f"message {message.id}", ["field", "value"], list(data.items()))
