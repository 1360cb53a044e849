"""Which backend a storage URL names: checked when an app is configured (a bad URL fails
there, not at the first enqueue) and opened on demand. Kept apart from the seam (`base`),
which says what a backend does, not which one a URL picks."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from conveyor import errors

if TYPE_CHECKING:
    from conveyor.backends.base import Backend


def scheme_of(url: str) -> str:
    scheme = urlsplit(url).scheme.split("+", 1)[0]
    if not scheme:
        raise errors.InvalidUrl(
            f"storage URL {url!r} has no scheme; use sqlite:///path.db or postgresql://host/db"
        )
    return scheme


def check_url(url: str) -> None:
    """Raise `InvalidUrl` now, at configuration time, for a URL no backend can open."""
    scheme = scheme_of(url)
    if scheme == "sqlite":
        from conveyor.backends.sqlite import backend as sqlite_backend

        sqlite_backend.path_of(url)
    elif scheme not in ("postgresql", "postgres"):
        raise errors.InvalidUrl(
            f"storage URL {url!r} uses unknown scheme {scheme!r}; supported: sqlite, postgresql"
        )


def open_backend(url: str, *, create: bool = True) -> Backend:
    """Create (without connecting) the backend a URL names. Without `create`, a SQLite file
    that does not exist is reported (`NotMigrated`) instead of created, until `migrate`."""
    check_url(url)
    scheme = scheme_of(url)
    if scheme == "sqlite":
        from conveyor.backends.sqlite import backend as sqlite_backend

        return sqlite_backend.SqliteBackend(url, create=create)
    if scheme in ("postgresql", "postgres"):
        from conveyor.backends.postgres import backend as postgres_backend

        return postgres_backend.PostgresBackend(url)
    raise errors.InvalidUrl(
        f"storage URL {url!r} uses unknown scheme {scheme!r}; supported: sqlite, postgresql"
    )
