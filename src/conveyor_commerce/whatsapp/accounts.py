"""WhatsApp accounts: one sending number each, with its token, version, throughput and the
rate at which scheduled messages go out.

An account is `active` or `stopped`. Stopping (an error that no retry can fix: expired
token, missing permission, locked or unpaid business account) records why, logs an alert and
pauses the account's rate key in Conveyor, so its jobs wait without being claimed - using no
attempt. Rotating the token (or `resume`) reactivates the account and unpauses the key.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from conveyor import Rate
from conveyor_commerce import tables
from conveyor_commerce.errors import AccountNotFound, InvalidAccount
from conveyor_commerce.vault import Secret
from conveyor_commerce.whatsapp import client

if TYPE_CHECKING:
    from conveyor_commerce.kit import Commerce

GRAPH_URL = "https://graph.facebook.com"
DEFAULT_VERSION = "v23.0"
"""The Graph API version new accounts use; each version lives about two years."""
RATE_SPEC = "10000/s"
"""Messages of an account share one Conveyor rate key of this rate; a message takes as many
slots as its account's spacing needs (`cost_for`), so each account gets its own rate."""
PACE = 1.1
"""Seconds between two sends of an account, in units of 1/send_rate. The 10 % margin absorbs
up to 100 ms of jitter between the moment a request is released and the moment it arrives,
so no 1-second window at the receiver holds more than `send_rate` messages."""
log = logging.getLogger("conveyor_commerce.accounts")
A = tables.accounts
_VERSION = re.compile(r"^v\d{1,3}\.\d{1,2}$")


@dataclasses.dataclass(frozen=True, slots=True)
class Account:
    """An account as listings show it: everything but the token."""

    id: int
    name: str
    phone_number_id: str
    display_number: str
    api_version: str
    base_url: str
    throughput: int
    send_rate: float
    status: str
    created_at: datetime
    updated_at: datetime
    stop_code: int | None = None
    stop_reason: str | None = None
    stopped_at: datetime | None = None
    token_encrypted: bool = False

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> Account:
        fields = {f.name for f in dataclasses.fields(cls)} - {"token_encrypted"}
        return cls(**{k: v for k, v in row.items() if k in fields},
                   token_encrypted=str(row["token"]).startswith("fernet:"))

    @property
    def declared_key(self) -> str:
        return declared_key(self.id)


def declared_key(account_id: int) -> str:
    return f"wa:{account_id}"


def storage_key(account_id: int) -> str:
    """The account's rate key as Conveyor stores it (`<key>@<rate>`)."""
    return f"{declared_key(account_id)}@{RATE_SPEC}"


def spacing(send_rate: float) -> float:
    """Seconds between two sends of an account."""
    return PACE / send_rate


def cost_for(send_rate: float) -> int:
    """Slots of the shared `RATE_SPEC` key one message takes, so that Conveyor starts an
    account's send jobs `spacing(send_rate)` apart (never closer)."""
    interval = Rate(RATE_SPEC).interval("conveyor_commerce.whatsapp.send")
    return max(1, math.ceil(spacing(send_rate) / interval - 1e-9))


class Accounts:
    """`commerce.accounts`: add, read, change, stop and resume sending numbers."""

    def __init__(self, kit: Commerce) -> None:
        self.kit = kit

    def add(self, name: str, phone_number_id: str, token: str | Secret, *,
            display_number: str = "", api_version: str = DEFAULT_VERSION,
            base_url: str = GRAPH_URL, throughput: int = 80, send_rate: float = 1.0) -> Account:
        """Add a sending number. The token is sealed by the vault before it is stored."""
        secret = token if isinstance(token, Secret) else Secret(token)
        _check(name, phone_number_id, secret, api_version, base_url, throughput, send_rate)
        now = self.kit.now()
        with self.kit.ready().begin() as conn:
            exists = conn.execute(sa.select(A.c.id).where(A.c.name == name)).first()
            if exists is not None:
                raise InvalidAccount(f"an account named {name!r} already exists")
            new_id = conn.execute(sa.insert(A).values(
                name=name, phone_number_id=phone_number_id, display_number=display_number,
                token=self.kit.vault.seal(secret), api_version=api_version, base_url=base_url,
                throughput=throughput, send_rate=float(send_rate), status="active",
                created_at=now, updated_at=now).returning(A.c.id)).scalar_one()
        return self.get(int(new_id))

    def get(self, account: int | str) -> Account:
        with self.kit.ready().begin() as conn:
            return self.get_on(conn, account)

    def get_on(self, conn: sa.Connection, account: int | str) -> Account:
        column = A.c.id if isinstance(account, int) else A.c.name
        row = conn.execute(sa.select(A).where(column == account)).mappings().first()
        if row is None:
            raise AccountNotFound(f"no WhatsApp account {account!r}")
        return Account.from_row(row)

    def list(self) -> list[Account]:
        with self.kit.ready().begin() as conn:
            rows = conn.execute(sa.select(A).order_by(A.c.id)).mappings()
            return [Account.from_row(row) for row in rows]

    def update(self, account: int | str, **fields: Any) -> Account:
        """Change `send_rate`, `throughput`, `base_url`, `api_version` or `display_number`.
        A new send rate applies to messages scheduled (or edited) from now on."""
        allowed = {"send_rate", "throughput", "base_url", "api_version", "display_number"}
        unknown = set(fields) - allowed
        if unknown:
            raise InvalidAccount(f"cannot change {sorted(unknown)}; changeable: {sorted(allowed)}")
        current = self.get(account)
        merged = {k: getattr(current, k) for k in allowed} | fields
        _check(current.name, current.phone_number_id, Secret("x"), merged["api_version"],
               merged["base_url"], merged["throughput"], merged["send_rate"])
        with self.kit.ready().begin() as conn:
            conn.execute(sa.update(A).where(A.c.id == current.id)
                         .values(updated_at=self.kit.now(), **fields))
        return self.get(current.id)

    def rotate_token(self, account: int | str, token: str | Secret) -> Account:
        """Store a new token and resume the account if it was stopped."""
        secret = token if isinstance(token, Secret) else Secret(token)
        if not secret.reveal().strip():
            raise InvalidAccount("the new token is empty")
        current = self.get(account)
        with self.kit.ready().begin() as conn:
            conn.execute(sa.update(A).where(A.c.id == current.id).values(
                token=self.kit.vault.seal(secret), updated_at=self.kit.now()))
        return self.resume(current.id)

    def resume(self, account: int | str) -> Account:
        """Reactivate a stopped account and let its waiting messages go (idempotent)."""
        current = self.get(account)
        with self.kit.ready().begin() as conn:
            conn.execute(sa.update(A).where(A.c.id == current.id).values(
                status="active", stop_code=None, stop_reason=None, stopped_at=None,
                updated_at=self.kit.now()))
        self.kit.app.admin.pause(key=storage_key(current.id), paused=False,
                                 actor="commerce:resume")
        log.info("WhatsApp account %s (%s) resumed", current.id, current.name)
        return self.get(current.id)

    async def astop(self, account_id: int, code: int | None, reason: str) -> None:
        """Stop the account (an error no retry can fix): pause its key, record why, alert."""
        await self.kit.app.admin.apause(key=storage_key(account_id), paused=True,
                                        actor="commerce:stop")
        now = self.kit.now()

        def write() -> None:
            with self.kit.ready().begin() as conn:
                conn.execute(sa.update(A).where(A.c.id == account_id, A.c.status == "active")
                             .values(status="stopped", stop_code=code, stop_reason=reason[:500],
                                     stopped_at=now, updated_at=now))

        await self.kit.in_thread(write)
        log.error("ALERT: WhatsApp account %s stopped: %s - its messages wait; rotate the "
                  "token or resume the account", account_id, reason)

    def reserve_slot(self, conn: sa.Connection, account: Account, now: datetime) -> datetime:
        """The moment this send may leave: the account's next free moment, at least `now`;
        the one after it is `spacing` later. Conveyor's rate key already starts the jobs that
        far apart; this evens out the time between a job's start and its request (database
        waits, a busy event loop). Called in the send's transaction, which holds the account
        row, so every worker reserves in turn."""
        return self.reserve_slots(conn, account.id, now, 1, spacing(account.send_rate))

    def reserve_slots(self, conn: sa.Connection, account_id: int, now: datetime, count: int,
                      gap: float) -> datetime:
        """The first of `count` sends `gap` seconds apart (a campaign's slice), reserved on
        the same pacer as single messages: the number's sends never crowd, whoever sends."""
        row = conn.execute(sa.select(A.c.next_send_at).where(A.c.id == account_id)
                           .with_for_update()).first()
        slot = max(now, row[0]) if row is not None and row[0] is not None else now
        conn.execute(sa.update(A).where(A.c.id == account_id).values(
            next_send_at=slot + timedelta(seconds=gap * count)))
        return slot

    def endpoint_on(self, conn: sa.Connection, account_id: int) -> tuple[Account, client.Endpoint]:
        row = conn.execute(sa.select(A).where(A.c.id == account_id)).mappings().first()
        if row is None:
            raise AccountNotFound(f"no WhatsApp account {account_id}")
        account = Account.from_row(row)
        return account, client.Endpoint(account.base_url, account.api_version,
                                        account.phone_number_id, self.kit.vault.open(row["token"]))


def _check(name: str, phone_number_id: str, token: Secret, api_version: str, base_url: str,
           throughput: int, send_rate: float) -> None:
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 100:
        raise InvalidAccount("name: 1 to 100 characters")
    if not isinstance(phone_number_id, str) or not phone_number_id.isdigit():
        raise InvalidAccount(f"account {name!r}: phone_number_id is Meta's numeric id of the "
                             "sending number (digits), not the phone number itself")
    if not token.reveal().strip():
        raise InvalidAccount(f"account {name!r}: the access token is empty")
    if not isinstance(api_version, str) or not _VERSION.match(api_version):
        raise InvalidAccount(f"account {name!r}: api_version {api_version!r} is not like "
                             f"{DEFAULT_VERSION!r}")
    if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
        raise InvalidAccount(f"account {name!r}: base_url must be an http(s) URL")
    if type(throughput) is not int or not 1 <= throughput <= 1000:
        raise InvalidAccount(f"account {name!r}: throughput is 1 to 1000 messages/s")
    if not isinstance(send_rate, int | float) or not 0 < send_rate <= throughput:
        raise InvalidAccount(f"account {name!r}: send_rate {send_rate!r} must be > 0 and at "
                             f"most the number's throughput ({throughput}/s)")
