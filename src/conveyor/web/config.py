"""Dashboard configuration: who may log in, with which role, and the session settings.

Users come from code (`DashboardConfig(users=[...])`) or the environment:

- `CONVEYOR_DASHBOARD_USERS`: `name:role:hash` entries separated by commas, role `admin` or
  `read-only`, hash from `conveyor dashboard hash-password`;
- `CONVEYOR_DASHBOARD_PASSWORD`: a plain password for one admin user named
  `$CONVEYOR_DASHBOARD_USER` (default `admin`), hashed in memory at start;
- `CONVEYOR_DASHBOARD_SECRET`: the key that signs session cookies (default: random per
  process, so sessions end when the server restarts);
- `CONVEYOR_DASHBOARD_REFRESH`: seconds between automatic refreshes (default 30, 0: off);
- `CONVEYOR_DASHBOARD_METRICS_TOKEN`: lets a Prometheus scraper read `/metrics` with
  `Authorization: Bearer <token>` (without it, `/metrics` needs a logged-in user).
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping, Sequence
from enum import StrEnum

from conveyor import errors
from conveyor.web import passwords

_NAME = re.compile(r"^[A-Za-z0-9_.@+-]{1,64}$")


class Role(StrEnum):
    """What a user may do. Checked on the server for every request, not only in templates."""

    ADMIN = "admin"
    """Sees everything and may act: retry, cancel, delete, edit, pause, run now."""
    READ_ONLY = "read-only"
    """Sees everything (secrets redacted, as for everyone) and can change nothing."""


@dataclasses.dataclass(frozen=True, slots=True)
class User:
    """Whoever a request comes from; `name` is the actor recorded in the audit table."""

    name: str
    role: Role = Role.ADMIN

    @property
    def can_act(self) -> bool:
        return self.role is Role.ADMIN


@dataclasses.dataclass(frozen=True, slots=True)
class Account:
    """A user who logs in with a password (only its scrypt hash is kept)."""

    name: str
    password_hash: str
    role: Role = Role.ADMIN

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise errors.ConfigurationError(
                f"dashboard user name {self.name!r} is invalid: use 1-64 letters, digits or "
                "_.@+-")
        passwords.parse(self.password_hash)

    @classmethod
    def with_password(cls, name: str, password: str, role: Role = Role.ADMIN) -> Account:
        return cls(name, passwords.hash_password(password), role)

    def __repr__(self) -> str:
        return f"Account({self.name!r}, role={self.role.value!r})"


@dataclasses.dataclass(frozen=True, slots=True)
class DashboardConfig:
    """How the dashboard authenticates and behaves. `from_env()` reads the environment."""

    users: Sequence[Account] = ()
    secret_key: str | None = dataclasses.field(default=None, repr=False)
    refresh_seconds: int = 30
    """Default auto-refresh interval of the pages (the user can change or pause it)."""
    session_max_age: int = 12 * 3600
    secure_cookies: bool | None = None
    """Mark cookies Secure: None means when the request came over https (behind a TLS proxy,
    run uvicorn with --proxy-headers so the scheme is known)."""
    login_attempts: int = 5
    """Failed logins allowed per user name and per client address within `login_window`."""
    login_window: float = 900.0
    wait_warning_seconds: float = 300.0
    """The overview flags a queue whose oldest available job has waited longer."""
    metrics_token: str | None = dataclasses.field(default=None, repr=False)
    """A bearer token that may read `/metrics` (and nothing else) without logging in."""

    def __post_init__(self) -> None:
        names = [account.name for account in self.users]
        if len(set(names)) != len(names):
            raise errors.ConfigurationError(f"dashboard users are listed twice: {names}")
        if self.refresh_seconds < 0:
            raise errors.ConfigurationError("refresh_seconds must be >= 0 (0: no refresh)")

    def account(self, name: str) -> Account | None:
        return next((a for a in self.users if a.name == name), None)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object
                 ) -> DashboardConfig:
        """The configuration the `CONVEYOR_DASHBOARD_*` variables describe."""
        env = os.environ if environ is None else environ
        users = list(_parse_users(env.get("CONVEYOR_DASHBOARD_USERS", "")))
        password = env.get("CONVEYOR_DASHBOARD_PASSWORD")
        if password:
            users.append(Account.with_password(env.get("CONVEYOR_DASHBOARD_USER", "admin"),
                                               password))
        fields: dict[str, object] = {
            "users": tuple(users), "secret_key": env.get("CONVEYOR_DASHBOARD_SECRET") or None,
            "metrics_token": env.get("CONVEYOR_DASHBOARD_METRICS_TOKEN") or None}
        refresh = env.get("CONVEYOR_DASHBOARD_REFRESH")
        if refresh:
            try:
                fields["refresh_seconds"] = int(refresh)
            except ValueError:
                raise errors.ConfigurationError(
                    f"CONVEYOR_DASHBOARD_REFRESH={refresh!r} is not a whole number of "
                    "seconds") from None
        fields.update(overrides)
        return cls(**fields)  # type: ignore[arg-type]


def _parse_users(text: str) -> list[Account]:
    accounts = []
    for entry in filter(None, (part.strip() for part in text.split(","))):
        name, _, rest = entry.partition(":")
        role, _, password_hash = rest.partition(":")
        try:
            parsed_role = Role(role)
        except ValueError:
            raise errors.ConfigurationError(
                f"CONVEYOR_DASHBOARD_USERS: user {name!r} has role {role!r}; use "
                f"{' or '.join(r.value for r in Role)} (entries are name:role:hash)") from None
        accounts.append(Account(name, password_hash, parsed_role))
    return accounts
