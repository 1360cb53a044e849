"""The campaign jobs, declared on the kit's application.

- `conveyor_commerce.campaigns.chunk(campaign_id, account_id, chunk)`: sends one chunk
  (`runner`). Two rate keys: the number's (`wa:<account id>`, shared with single messages,
  so a campaign and scheduled messages split the number's rate and a 130429 slows them all)
  and the campaign's own (`campaign:<id>`, paused while the campaign is paused); at most
  `parallel_chunks` chunks of a campaign run at once (when sending is slower than the rate,
  chunks do not pile up). Its cost is the chunk's recipients' share of the number's key:
  one message's slots per recipient.
- `conveyor_commerce.campaigns.finish(campaign_id, outcome)`: the batch's on_success and
  on_failure callback; writes the campaign's summary and calls the registered hooks.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any

from conveyor import Concurrency, Rate
from conveyor.registry import JobType
from conveyor_commerce.whatsapp.accounts import RATE_SPEC, declared_key

if TYPE_CHECKING:
    from conveyor_commerce.kit import Commerce

CHUNK = "conveyor_commerce.campaigns.chunk"
FINISH = "conveyor_commerce.campaigns.finish"
CAMPAIGN_SPEC = "1000000/s"
"""The campaign key's rate: never the limit (the number's key is); it exists to be paused."""


def number_key(campaign_id: int = 0, account_id: int = 0, chunk: int = 0, **_: Any) -> str:
    return declared_key(account_id)


def campaign_key(campaign_id: int = 0, **_: Any) -> str:
    return f"campaign:{campaign_id}"


def campaign_storage_key(campaign_id: int) -> str:
    """The campaign key as Conveyor stores it (what `pause` pauses)."""
    return f"{campaign_key(campaign_id)}@{CAMPAIGN_SPEC}"


def chunk_cost(recipients: int, send_rate: float, pace: float) -> int:
    """Slots of the number's key a chunk takes: its recipients at the campaign's pace."""
    interval = Rate(RATE_SPEC).interval(CHUNK)
    return max(1, math.ceil(recipients * pace / send_rate / interval - 1e-9))


@dataclasses.dataclass(frozen=True, slots=True)
class CampaignJobs:
    chunk: JobType[Any, Any]
    finish: JobType[Any, Any]


def declare(kit: Commerce) -> CampaignJobs:
    from conveyor_commerce.campaigns import runner

    app, settings = kit.app, kit.settings
    tuning = settings.campaigns

    async def send_chunk(campaign_id: int, account_id: int, chunk: int) -> dict[str, Any]:
        return await runner.run(kit, campaign_id, account_id, chunk)

    def finish_campaign(campaign_id: int, outcome: str) -> dict[str, Any]:
        return kit.campaigns.finish(campaign_id, outcome)

    chunk = app.job(name=CHUNK, queue=settings.queue, backoff=list(tuning.backoff),
                    max_attempts=tuning.max_attempts,
                    limits=[Rate(RATE_SPEC, key=number_key),
                            Rate(CAMPAIGN_SPEC, key=campaign_key),
                            Concurrency(tuning.parallel_chunks, key=campaign_key)])(send_chunk)
    finish = app.job(name=FINISH, queue=settings.queue, max_attempts=5,
                     backoff=[1, 5, 30, 120])(finish_campaign)
    return CampaignJobs(chunk, finish)
