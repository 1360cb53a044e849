"""Test databases: a migrated SQLite file per test, or a PostgreSQL database per test session.

PostgreSQL is used when `CONVEYOR_TEST_PG` names a server (an admin connection URL such as
`postgresql://postgres@127.0.0.1:5432/postgres`): a database of the session's own is created
there (so parallel runs never collide), migrated once, emptied before each test and dropped
at the end. Tables of your own in that database are emptied too when named in the
`conveyor_tables` ini option (the plugin's).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from conveyor.app import Conveyor

ENV = "CONVEYOR_TEST_PG"
CONVEYOR_TABLES = "conveyor%"
MIGRATION_RECORDS = "%\\_migrations"
"""Tables that record which migrations ran (`conveyor_migrations`, a kit's or your own):
emptying them would make the next test migrate again over existing tables."""


def migrated(url: str) -> str:
    """Create (or upgrade) Conveyor's tables at `url`; returns it."""
    app = Conveyor(url)
    try:
        app.migrate()
    finally:
        app.close()
    return url


def sqlite_url(directory: Path) -> str:
    """A migrated SQLite database in `directory` (a test's temporary directory)."""
    return migrated(f"sqlite:///{directory / 'conveyor.db'}")


def postgres_admin() -> str | None:
    """The admin URL of the PostgreSQL server to test on, if one is configured."""
    return os.environ.get(ENV) or None


class PostgresDatabase:
    """A database of this test session's own on the server at `admin`."""

    def __init__(self, admin: str) -> None:
        self.admin = admin
        self.name = f"conveyor_test_{os.getpid()}_{secrets.token_hex(4)}"
        self.url = f"postgresql://{_authority(conninfo_to_dict(admin))}/{self.name}"
        self._created = False

    def create(self) -> str:
        with psycopg.connect(make_conninfo(self.admin, connect_timeout=5),
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        self._created = True
        return migrated(self.url)

    def empty(self, also: Sequence[str] = ()) -> str:
        """Delete every row of Conveyor's tables, and of the tables whose names match the SQL
        LIKE patterns `also` (your own, in the same database: a fresh SQLite file has none of
        them either); tables named `*_migrations` keep their rows. Returns the URL."""
        patterns = [CONVEYOR_TABLES, *also]
        with psycopg.connect(self.url, autocommit=True) as conn:
            tables = [row[0] for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                "AND tablename LIKE ANY(%s) AND tablename NOT LIKE %s ORDER BY tablename",
                (patterns, MIGRATION_RECORDS))]
            if tables:
                conn.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables)
                             + " RESTART IDENTITY")
        return self.url

    def drop(self) -> None:
        if not self._created:
            return
        with psycopg.connect(make_conninfo(self.admin, connect_timeout=5),
                             autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self._created = False


def _authority(params: Mapping[str, object]) -> str:
    """user[:password]@host:port of a parsed connection string, for a URL."""
    user = quote(str(params.get("user") or "postgres"), safe="")
    password = params.get("password")
    credentials = user + (f":{quote(str(password), safe='')}" if password else "")
    return f"{credentials}@{params.get('host') or '127.0.0.1'}:{params.get('port') or 5432}"
