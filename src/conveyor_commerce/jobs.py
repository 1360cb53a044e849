"""The kit's Conveyor jobs, declared on the application the kit is attached to.

- `conveyor_commerce.whatsapp.send(message_id, account_id)`: sends one scheduled message (see
  `messages.sending`). One job per message, enqueued at `scheduled_at` in the transaction that
  writes the message. Its account's rate key (`wa:<account id>`) spaces the sends of each
  account across every worker; tries are spaced by the kit's backoff (1/5/15 min).
- `conveyor_commerce.whatsapp.retry_failed(message_id)`: sends a failed message again with a
  fresh try, refusing what can never succeed (the shop plugin's `retry_failed_message`).
- `conveyor_commerce.whatsapp.reconcile()`, a cron job every minute: settles messages whose job
  ended without settling them (see `messages.reconcile`).

The functions live in this module (never `__main__`) and their limit key function takes
keywords, so it works however the engine binds the job's arguments.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from conveyor import Rate
from conveyor.registry import JobType
from conveyor_commerce.whatsapp.accounts import RATE_SPEC, declared_key

if TYPE_CHECKING:
    from conveyor_commerce.kit import Commerce

SEND = "conveyor_commerce.whatsapp.send"
RETRY_FAILED = "conveyor_commerce.whatsapp.retry_failed"
RECONCILE = "conveyor_commerce.whatsapp.reconcile"


def account_key(message_id: int = 0, account_id: int = 0, **_: Any) -> str:
    """The rate key of a send job: its account's."""
    return declared_key(account_id)


@dataclasses.dataclass(frozen=True, slots=True)
class KitJobs:
    send: JobType[Any, Any]
    retry_failed: JobType[Any, Any]
    reconcile: JobType[Any, Any]


def declare(kit: Commerce) -> KitJobs:
    from conveyor_commerce.messages import reconcile, sending

    app, settings = kit.app, kit.settings

    async def send_message(message_id: int, account_id: int) -> dict[str, Any]:
        return await sending.run(kit, message_id, account_id)

    async def retry_failed_message(message_id: int) -> dict[str, Any]:
        return await sending.retry_failed(kit, message_id)

    async def reconcile_messages() -> dict[str, int]:
        return await reconcile.sweep(kit)

    send = app.job(name=SEND, queue=settings.queue, backoff=list(settings.backoff),
                   max_attempts=4, limits=[Rate(RATE_SPEC, key=account_key)])(send_message)
    retry = app.job(name=RETRY_FAILED, queue=settings.queue, max_attempts=3,
                    backoff=[5, 30])(retry_failed_message)
    sweep = app.job(name=RECONCILE, queue=settings.queue, max_attempts=1)(reconcile_messages)
    if settings.reconcile_cron:
        app.cron(settings.reconcile_cron, sweep, name=RECONCILE)
    return KitJobs(send, retry, sweep)
