"""`Commerce`: the kit attached to one Conveyor application.

`Commerce(app)` declares the kit's jobs on `app` (so the workers that load `app` run them),
opens the kit's tables in the same database as the jobs, and gives the Python API:
`commerce.accounts`, `commerce.messages`, `commerce.catalog` (PrestaShop catalog sync),
`commerce.webhook_app(...)`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import weakref
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, ClassVar, TypeVar

import httpx

from conveyor import Conveyor
from conveyor_commerce import db, jobs, migrate
from conveyor_commerce.catalog.model import CatalogSettings
from conveyor_commerce.catalog.service import Catalog
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

    def __post_init__(self) -> None:
        if self.ambiguous not in ("resend", "fail"):
            raise CommerceError(f"ambiguous={self.ambiguous!r}: use 'resend' or 'fail'")
        if self.min_lead < 0 or self.ambiguous_grace < 0 or self.http_timeout <= 0:
            raise CommerceError("min_lead and ambiguous_grace are >= 0, http_timeout > 0")


class Commerce:
    """The commerce kit on one application: `commerce = Commerce(app)`."""

    _kits: ClassVar[weakref.WeakKeyDictionary[Conveyor, Commerce]] = \
        weakref.WeakKeyDictionary()

    def __init__(self, app: Conveyor, *, settings: CommerceSettings | None = None,
                 vault: Vault | None = None, catalog: CatalogSettings | None = None) -> None:
        if app in Commerce._kits:
            raise CommerceError("this application already has a Commerce kit; use "
                                "Commerce.of(app)")
        self.app = app
        self.settings = settings or CommerceSettings()
        self.vault = vault or Vault()
        self.db = db.Database(app.url)
        self.accounts = Accounts(self)
        self.messages = Messages(self)
        self.jobs = jobs.declare(self)
        self.catalog = Catalog(self, catalog)
        self.catalog.jobs  # noqa: B018  # declares the catalog's jobs and crons on `app`
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
