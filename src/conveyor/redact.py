"""Keep secrets out of logs, listings and messages.

Job arguments are shown to operators (CLI, dashboard); values stored under keys that name a
secret are masked wherever a job is displayed. Positional arguments have no names, so pass
secrets as keyword arguments - or better, pass an account id and look the token up in the job.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

MASK = "***"
_SECRET_KEY = re.compile(
    r"pass(word|wd)?|secret|token|api[_-]?key|auth(orization)?|credential|signature|"
    r"private[_-]?key|cookie|session", re.IGNORECASE)


def url(value: str) -> str:
    """The URL with any password replaced by `***`."""
    parts = urlsplit(value)
    if parts.password is None:
        return value
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    netloc = f"{parts.username or ''}:{MASK}@{host}"
    return urlunsplit(parts._replace(netloc=netloc))


def is_secret_key(key: str) -> bool:
    return bool(_SECRET_KEY.search(key))


def value(data: Any) -> Any:
    """A copy of `data` with every value under a secret-looking key masked, at any depth."""
    if isinstance(data, dict):
        return {k: MASK if isinstance(k, str) and is_secret_key(k) else value(v)
                for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [value(item) for item in data]
    return data


_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^/\s:@]*:)([^@\s/]+)(@)", re.IGNORECASE)
_SECRET_PAIR = re.compile(
    r"""(\b[\w-]*(?:pass(?:word|wd)?|secret|token|api[_-]?key|authorization|credential|"""
    r"""signature|private[_-]?key|cookie|session)[\w-]*["']?\s*[:=]\s*["']?)"""
    r"""((?:bearer\s+)?[^\s"',;&()<>\[\]{}]+)""", re.IGNORECASE)


def text(message: str) -> str:
    """Free text (a log line, an error message) with URL passwords and the values of
    `key=value` / `key: value` pairs whose key names a secret replaced by `***`."""
    message = _URL_PASSWORD.sub(rf"\g<1>{MASK}\g<3>", message)
    return _SECRET_PAIR.sub(rf"\g<1>{MASK}", message)
