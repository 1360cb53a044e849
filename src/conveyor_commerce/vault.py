"""API tokens: kept out of sight in memory, encrypted at rest when a key is configured.

`Secret` wraps a token so that printing, logging or formatting it (a traceback's locals, a
job listing, an f-string) shows `Secret('***')`; the value comes out only through
`reveal()`, which the HTTP client calls when it writes the Authorization header.

At rest: with `CONVEYOR_COMMERCE_KEY` set (one or more Fernet keys, comma-separated, the first
encrypts; generate one with `conveyor commerce key`), tokens are stored as
`fernet:<token>` (AES-128-CBC + HMAC-SHA256 by `cryptography`); several keys allow rotating
the key (`MultiFernet`). Without a key tokens are stored as `plain:<token>` and a warning says
so once; a stored encrypted token without the key is an error, never sent as is.
"""

from __future__ import annotations

import logging
import os

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from conveyor_commerce.errors import SecretKeyError

KEY_ENV = "CONVEYOR_COMMERCE_KEY"
log = logging.getLogger("conveyor_commerce.vault")


class Secret:
    """A value that never shows itself by accident."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self) -> str:  # never serialised (no pickle anywhere)
        raise TypeError("a Secret cannot be serialised")


def generate_key() -> str:
    """A new Fernet key for `CONVEYOR_COMMERCE_KEY`."""
    return Fernet.generate_key().decode()


class Vault:
    """Seals and opens tokens with the keys from the environment (or those given)."""

    def __init__(self, keys: str | None = None) -> None:
        raw = os.environ.get(KEY_ENV, "") if keys is None else keys
        parts = [part.strip() for part in raw.split(",") if part.strip()]
        try:
            self._fernet = MultiFernet([Fernet(part) for part in parts]) if parts else None
        except (ValueError, TypeError):
            raise SecretKeyError(
                f"${KEY_ENV} must hold Fernet keys (32 url-safe base64 bytes each, "
                "comma-separated); generate one with `conveyor commerce key`") from None
        self._warned = False

    @property
    def encrypts(self) -> bool:
        return self._fernet is not None

    def seal(self, token: Secret) -> str:
        """The stored form of a token."""
        if self._fernet is None:
            if not self._warned:
                log.warning("storing an API token unencrypted: set $%s to encrypt tokens "
                            "at rest", KEY_ENV)
                self._warned = True
            return "plain:" + token.reveal()
        return "fernet:" + self._fernet.encrypt(token.reveal().encode()).decode()

    def open(self, stored: str) -> Secret:
        scheme, _, body = stored.partition(":")
        if scheme == "plain":
            return Secret(body)
        if scheme != "fernet":
            raise SecretKeyError("a stored token has an unknown format")
        if self._fernet is None:
            raise SecretKeyError(f"a token is stored encrypted but ${KEY_ENV} is not set")
        try:
            return Secret(self._fernet.decrypt(body.encode()).decode())
        except InvalidToken:
            raise SecretKeyError(
                f"a stored token cannot be decrypted with the key(s) in ${KEY_ENV}") from None
