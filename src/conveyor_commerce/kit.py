"""`Commerce`: the kit attached to one Conveyor application.

`Commerce(app)` declares the kit's jobs on `app` (so the workers that load `app` run them),
opens the kit's tables in the same database as the jobs, and gives the Python API:
`commerce.accounts`, `commerce.messages`, `commerce.carts`, `commerce.campaigns`,
`commerce.webhook_app(...)`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import weakref
from collections.abc import Callable, Sequence
from datetime import datetime, time
from typing import Any, ClassVar, TypeVar

import httpx

from conveyor import Conveyor
from conveyor_commerce import db, jobs, migrate
from conveyor_commerce.campaigns import jobs as campaign_jobs
from conveyor_commerce.campaigns.model import CampaignSettings
from conveyor_commerce.campaigns.service import Campaigns
from conveyor_commerce.carts import quiet
from conveyor_commerce.carts.service import Carts
from conveyor_commerce.errors import CommerceError
from conveyor_commerce.messages.service import Messages
from conveyor_commerce.vault import Vault
from conveyor_commerce.whatsapp import client
from conveyor_commerce.whatsapp.accounts import Accounts

T = TypeVar("T")


@dataclasses.dataclass(frozen=True, slots=True)
class CommerceSettings:
    """Tunables of the kit, with production defaults."""

    min_lead: float = 300.0
    """A message is scheduled at least this many seconds ahead (5 minutes)."""
    backoff: Sequence[float] = (60.0, 300.0, 900.0)
    """Seconds between tries of a message after a transient error: 1 min, 5 min, 15 min."""
    queue: str = "whatsapp"
    """The Conveyor queue of the kit's jobs (workers must serve it)."""
    ambiguous: str = "resend"
    """After a send whose outcome is unknown (timeout after the request left, a worker that
    died mid-send): "resend" once the grace has passed without a webhook confirming it (at
    most one duplicate per such outcome), or "fail" (the message fails as ambiguous and is
    sent again only by hand)."""
    ambiguous_grace: float = 60.0
    """Seconds to wait for a status webhook to confirm an ambiguous send before resending."""
    http_timeout: float = 20.0
    """Seconds to wait for the API's answer once the request was sent."""
    stopped_recheck: float = 30.0
    """A job that finds its account stopped waits this long (then on the paused key)."""
    reconcile_cron: str | None = "* * * * *"
    """When the sweep settles messages whose job ended without them (None: never)."""
    cart_abandon_after: float = 3600.0
    """A cart unchanged this many seconds is abandoned and gets its reminder (1 hour)."""
    cart_scan_cron: str | None = "*/10 * * * *"
    """When the scan for newly abandoned carts runs (None: never; `commerce.carts.scan()`)."""
    cart_max_age: float = 72 * 3600.0
    """An open cart unchanged this many seconds expires (72 hours)."""
    cart_cleanup_cron: str | None = "0 * * * *"
    """When the expired-cart cleanup runs (None: never; `commerce.carts.cleanup()`)."""
    cart_cleanup_mode: str = "expire"
    """"expire" (keep the row, status `expired`) or "delete" carts past their age."""
    cart_batch: int = 1000
    """Carts per transaction of the scan and the cleanup (short locks on big tables)."""
    quiet_hours: tuple[time, time] | None = (time(21), time(9))
    """Local hours of the customer in which no reminder is sent (start, end); None: any."""
    cart_reminder_template: tuple[str, str] = ("abandoned_cart", "en_US")
    """(name, language) of the reminder template; its body takes the items and the total."""
    order_template: tuple[str, str] = ("order_status", "en_US")
    """(name, language) of the order notification; its body takes the order id and status."""
    campaigns: CampaignSettings = dataclasses.field(default_factory=CampaignSettings)
    """Broadcast campaigns: chunk size, pacing margin, chunk retries, cancel wait."""

    def __post_init__(self) -> None:
        if self.ambiguous not in ("resend", "fail"):
            raise CommerceError(f"ambiguous={self.ambiguous!r}: use 'resend' or 'fail'")
        if self.min_lead < 0 or self.ambiguous_grace < 0 or self.http_timeout <= 0:
            raise CommerceError("min_lead and ambiguous_grace are >= 0, http_timeout > 0")
        if self.cart_cleanup_mode not in ("expire", "delete"):
            raise CommerceError(f"cart_cleanup_mode={self.cart_cleanup_mode!r}: use 'expire' "
                                "or 'delete'")
        if self.cart_abandon_after <= 0 or self.cart_max_age <= self.cart_abandon_after:
            raise CommerceError("cart_abandon_after > 0 and cart_max_age > cart_abandon_after")
        if type(self.cart_batch) is not int or not 1 <= self.cart_batch <= 10_000:
            raise CommerceError(f"cart_batch={self.cart_batch!r}: an integer from 1 to 10000")
        try:
            quiet.check_window(self.quiet_hours)
        except ValueError as exc:
            raise CommerceError(str(exc)) from None


class Commerce:
    """The commerce kit on one application: `commerce = Commerce(app)`."""

    _kits: ClassVar[weakref.WeakKeyDictionary[Conveyor, Commerce]] = \
        weakref.WeakKeyDictionary()

    def __init__(self, app: Conveyor, *, settings: CommerceSettings | None = None,
                 vault: Vault | None = None) -> None:
        if app in Commerce._kits:
            raise CommerceError("this application already has a Commerce kit; use "
                                "Commerce.of(app)")
        self.app = app
        self.settings = settings or CommerceSettings()
        self.vault = vault or Vault()
        self.db = db.Database(app.url)
        self.accounts = Accounts(self)
        self.messages = Messages(self)
        self.carts = Carts(self)
        self.jobs = jobs.declare(self)
        self.campaigns = Campaigns(self)
        self.campaign_jobs = campaign_jobs.declare(self)
        self._migrated = False
        self._http: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = \
            weakref.WeakKeyDictionary()
        Commerce._kits[app] = self

    @classmethod
    def of(cls, app: Conveyor) -> Commerce:
        """The kit attached to `app`, attaching one with default settings if none is."""
        return cls._kits.get(app) or cls(app)

    @classmethod
    def attached(cls, app: Conveyor) -> Commerce | None:
        """The kit attached to `app` by its code (`Commerce(app, ...)`), or None."""
        return cls._kits.get(app)

    def now(self) -> datetime:
        return self.app.clock.now()

    def migrate(self) -> list[int]:
        """Apply the engine's and the kit's pending migrations; returns the kit's versions."""
        self.app.migrate()
        applied = migrate.migrate(self._database())
        self._migrated = True
        return applied

    def ready(self) -> db.Database:
        """The database, migrated on first use when the app migrates automatically."""
        found = self._database()
        if not self._migrated and self.app.settings.auto_migrate:
            self.migrate()
        return found

    def _database(self) -> db.Database:
        """The app's database: when the app was pointed elsewhere after the kit was
        attached (`conveyor --app ... --url ...`), the kit follows it."""
        if self.db.url != self.app.url:
            self.db.dispose()
            self.db, self._migrated = db.Database(self.app.url), False
        return self.db

    async def in_thread(self, work: Callable[[], T]) -> T:
        """Run blocking database work off the event loop."""
        return await asyncio.to_thread(work)

    def http(self) -> httpx.AsyncClient:
        """The HTTP client of the running event loop (connections are per loop)."""
        loop = asyncio.get_running_loop()
        found = self._http.get(loop)
        if found is None:
            found = httpx.AsyncClient(timeout=client.timeouts(self.settings.http_timeout),
                                      limits=httpx.Limits(max_connections=100))
            self._http[loop] = found
        return found

    def webhook_app(self, *, app_secret: str, verify_token: str) -> Any:
        """The delivery-status webhook as an ASGI app (mount it, or serve it with uvicorn)."""
        from conveyor_commerce.messages import webhook

        return webhook.create_app(self, app_secret=app_secret, verify_token=verify_token)

    def close(self) -> None:
        self.db.dispose()

    def __repr__(self) -> str:
        return f"Commerce({self.app!r})"
