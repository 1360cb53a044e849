"""Keep secrets out of logs, listings and messages."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


def url(value: str) -> str:
    """The URL with any password replaced by `***`."""
    parts = urlsplit(value)
    if parts.password is None:
        return value
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    netloc = f"{parts.username or ''}:***@{host}"
    return urlunsplit(parts._replace(netloc=netloc))
