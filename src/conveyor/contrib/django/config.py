"""The `CONVEYOR` setting, read and checked once, and the storage URL of a Django database.

    CONVEYOR = {
        "DATABASE": "default",   # the Django database the jobs live in (default "default")
        "URL": None,             # or a Conveyor URL of their own (then no transactional enqueue)
        "TRANSACTIONAL": True,   # enqueue inside transaction.atomic() joins that transaction
        "JOBS_MODULE": "jobs",   # the module discovered in every installed app
        "JOB_MODULES": [],       # more modules to import for their jobs
        "SETTINGS": {},          # conveyor.Settings fields, e.g. {"lease_timeout": 120}
    }
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from conveyor import errors
from conveyor.settings import Settings

KEYS = ("DATABASE", "URL", "TRANSACTIONAL", "JOBS_MODULE", "JOB_MODULES", "SETTINGS")
SQLITE_ENGINES = ("django.db.backends.sqlite3",)
POSTGRES_ENGINES = ("django.db.backends.postgresql", "django.contrib.gis.db.backends.postgis")
_LIBPQ_OPTIONS = ("sslmode", "sslrootcert", "sslcert", "sslkey", "connect_timeout",
                  "application_name", "target_session_attrs", "options")


@dataclasses.dataclass(frozen=True, slots=True)
class ProjectConfig:
    database: str = "default"
    url: str | None = None
    transactional: bool = True
    jobs_module: str = "jobs"
    job_modules: tuple[str, ...] = ()
    settings: Settings = dataclasses.field(default_factory=Settings)

    @classmethod
    def of(cls, value: Any) -> ProjectConfig:
        """Read `settings.CONVEYOR` (None or a dict); a wrong key or type is a
        `ConfigurationError` naming it."""
        if value is None:
            return cls()
        if not isinstance(value, Mapping):
            raise errors.ConfigurationError(f"settings.CONVEYOR must be a dict, got {value!r:.60}")
        unknown = sorted(set(value) - set(KEYS))
        if unknown:
            raise errors.ConfigurationError(
                f"settings.CONVEYOR has unknown key(s) {unknown}; known: {list(KEYS)}")
        try:
            tuning = Settings(**dict(value.get("SETTINGS") or {}))
        except TypeError as exc:
            raise errors.ConfigurationError(f"settings.CONVEYOR['SETTINGS']: {exc}") from None
        config = cls(database=_text(value, "DATABASE", "default"),
                     url=value.get("URL") or None,
                     transactional=bool(value.get("TRANSACTIONAL", True)),
                     jobs_module=_text(value, "JOBS_MODULE", "jobs"),
                     job_modules=tuple(value.get("JOB_MODULES") or ()), settings=tuning)
        if config.url is not None and not isinstance(config.url, str):
            raise errors.ConfigurationError(f"settings.CONVEYOR['URL'] must be a string, got "
                                            f"{config.url!r:.60}")
        return config


def url_of(alias: str, settings_dict: Mapping[str, Any]) -> str:
    """The Conveyor URL of a Django database (its `settings_dict`: during tests Django renames
    it to the test database, which this then follows)."""
    engine, name = settings_dict.get("ENGINE", ""), settings_dict.get("NAME")
    if engine in SQLITE_ENGINES:
        text = str(name or "")
        if not text or text == ":memory:" or text.startswith("file:") or "mode=memory" in text:
            raise errors.ConfigurationError(
                f"Django database {alias!r} is SQLite {text or 'in memory'!r}; Conveyor keeps "
                "jobs in a file its workers can open (for tests, give it "
                "DATABASES[...]['TEST']['NAME'] = a file path)")
        return f"sqlite:///{os.path.abspath(text)}"
    if engine in POSTGRES_ENGINES:
        return _postgres_url(settings_dict)
    raise errors.ConfigurationError(
        f"Django database {alias!r} uses {engine!r}; Conveyor runs on SQLite and PostgreSQL "
        "(give it a database of its own with CONVEYOR['URL'])")


def _postgres_url(settings_dict: Mapping[str, Any]) -> str:
    user = quote(str(settings_dict.get("USER") or ""), safe="")
    password = settings_dict.get("PASSWORD")
    credentials = user + (f":{quote(str(password), safe='')}" if password else "")
    host = str(settings_dict.get("HOST") or "")
    host = f"[{host}]" if ":" in host else quote(host, safe="")
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    authority = f"{credentials}@{host}{port}" if credentials else f"{host}{port}"
    options = settings_dict.get("OPTIONS") or {}
    query = "&".join(f"{key}={quote(str(options[key]), safe='')}" for key in _LIBPQ_OPTIONS
                     if key in options)
    name = quote(str(settings_dict.get("NAME") or ""), safe="")
    return f"postgresql://{authority}/{name}" + (f"?{query}" if query else "")


def _text(value: Mapping[str, Any], key: str, default: str) -> str:
    found = value.get(key, default)
    if not isinstance(found, str) or not found:
        raise errors.ConfigurationError(
            f"settings.CONVEYOR[{key!r}] must be a non-empty string, got {found!r:.60}")
    return found
