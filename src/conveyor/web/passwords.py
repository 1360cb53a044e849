"""Password hashing for dashboard users: scrypt from the standard library, never plain text.

A stored hash reads `scrypt$N$r$p$salt$hash` (salt and hash in URL-safe base64, no padding),
so it can sit in an environment variable or a config file; `conveyor dashboard hash-password`
prints one. Verifying costs ~50 ms of CPU on purpose: call it off the event loop.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from conveyor import errors

_N, _R, _P = 2**14, 8, 1
_MAXMEM = 64 * 1024 * 1024
_SCHEME = "scrypt"


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """A new salted scrypt hash of `password` in the `scrypt$N$r$p$salt$hash` form."""
    if not password:
        raise errors.ConfigurationError("a dashboard password must not be empty")
    salt = salt or secrets.token_bytes(16)
    digest = _derive(password, salt, _N, _R, _P)
    return "$".join([_SCHEME, str(_N), str(_R), str(_P), _b64(salt), _b64(digest)])


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` matches the stored hash (constant-time comparison)."""
    n, r, p, salt, digest = parse(stored)
    return hmac.compare_digest(_derive(password, salt, n, r, p), digest)


def parse(stored: str) -> tuple[int, int, int, bytes, bytes]:
    """The parameters of a stored hash; a clear error for anything else (e.g. a plain
    password pasted where a hash belongs)."""
    parts = stored.split("$")
    try:
        if len(parts) != 6 or parts[0] != _SCHEME:
            raise ValueError
        n, r, p = (int(x) for x in parts[1:4])
        salt, digest = _unb64(parts[4]), _unb64(parts[5])
        if n < 2 or n & (n - 1) or r < 1 or p < 1 or len(salt) < 8 or len(digest) < 16:
            raise ValueError
    except ValueError:
        raise errors.ConfigurationError(
            "a dashboard password hash must look like scrypt$N$r$p$salt$hash; create one with "
            "`conveyor dashboard hash-password`") from None
    return n, r, p, salt, digest


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM,
                          dklen=32)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError):
        raise ValueError(text) from None
