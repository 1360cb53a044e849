"""Signed cookies: the login session and the CSRF token.

Both are signed with the dashboard's secret (itsdangerous), so a client can read but not
forge them; nothing is stored on the server except the ids of sessions logged out before
they expired (so a copied cookie stops working at logout).
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable

import itsdangerous

SESSION_COOKIE = "conveyor_session"
CSRF_COOKIE = "conveyor_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class Sessions:
    """Issues and reads session cookies (`{"u": user, "s": session id}`, timestamped)."""

    def __init__(self, secret: str, max_age: int,
                 now: Callable[[], float] = time.time) -> None:
        self.max_age = max_age
        self._session = itsdangerous.URLSafeTimedSerializer(secret, salt="conveyor.session")
        self._csrf = itsdangerous.URLSafeSerializer(secret, salt="conveyor.csrf")
        self.flash = itsdangerous.URLSafeTimedSerializer(secret, salt="conveyor.notice")
        self._revoked: dict[str, float] = {}
        self._now = now

    def issue(self, user: str) -> str:
        return self._session.dumps({"u": user, "s": secrets.token_urlsafe(16)})

    def read(self, cookie: str | None) -> tuple[str, str] | None:
        """(user, session id) of a valid, unexpired, not logged-out cookie."""
        if not cookie:
            return None
        try:
            data = self._session.loads(cookie, max_age=self.max_age)
        except itsdangerous.BadData:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("u"), str) \
                or not isinstance(data.get("s"), str) or data["s"] in self._revoked:
            return None
        return data["u"], data["s"]

    def revoke(self, session_id: str) -> None:
        now = self._now()
        self._revoked = {s: t for s, t in self._revoked.items() if t > now}
        self._revoked[session_id] = now + self.max_age

    def new_csrf(self) -> tuple[str, str]:
        """A fresh token and the signed cookie value that vouches for it."""
        token = secrets.token_urlsafe(24)
        return token, self._csrf.dumps(token)

    def csrf_of(self, cookie: str | None) -> str | None:
        """The token a CSRF cookie carries, if the cookie is genuine."""
        if not cookie:
            return None
        try:
            token = self._csrf.loads(cookie)
        except itsdangerous.BadData:
            return None
        return token if isinstance(token, str) else None

    def csrf_matches(self, cookie: str | None, submitted: str | None) -> bool:
        expected = self.csrf_of(cookie)
        return bool(expected and submitted) and hmac.compare_digest(
            str(expected).encode(), str(submitted).encode())
