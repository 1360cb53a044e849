"""Numbered migrations of the kit's own tables, with their own version table.

`migrations/sqlite/NNNN_name.sql` and `migrations/postgres/NNNN_name.sql` are applied by
number, each once (a number merged after a higher one is applied when it arrives), each in
one transaction with its version row; concurrent migrators (several workers starting at once)
serialize on the write lock (SQLite) or an advisory lock (PostgreSQL).
"""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime
from importlib import resources

import sqlalchemy as sa

from conveyor_commerce.db import Database

VERSION_TABLE = "commerce_migrations"
_FILE = re.compile(r"^(\d{4})_(\w+)\.sql$")
_LOCK_KEY = 0x636F6D6D  # "comm": the advisory lock taken while migrating on PostgreSQL


@dataclasses.dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    def statements(self) -> list[str]:
        """The file split at semicolons that end a line (the files hold no procedures)."""
        body = "\n".join(line for line in self.sql.splitlines()
                         if not line.lstrip().startswith("--"))
        return [part.strip() for part in re.split(r";\s*$", body, flags=re.MULTILINE)
                if part.strip()]


def discover(dialect: str) -> list[Migration]:
    folder = "sqlite" if dialect == "sqlite" else "postgres"
    root = resources.files("conveyor_commerce").joinpath("migrations", folder)
    found = []
    for entry in root.iterdir():
        match = _FILE.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text()))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions) or (versions and versions[0] != 1):
        # Numbers are reserved per part of the kit (0002 carts, 0003 campaigns, 0004 catalog),
        # so a gap is allowed; each applies once, in order, whenever it is missing.
        raise RuntimeError(f"commerce migrations for {folder} must start at 0001 and be "
                           "numbered once each")
    return found


def migrate(db: Database) -> list[int]:
    """Apply pending migrations; returns the versions applied (empty: up to date)."""
    applied: list[int] = []
    with db.begin() as conn:
        if db.dialect == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        conn.execute(sa.text(
            f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (version INTEGER PRIMARY KEY, "
            "name TEXT NOT NULL, applied_at TEXT NOT NULL)"))
        done = {row[0] for row in conn.execute(sa.text(f"SELECT version FROM {VERSION_TABLE}"))}
        for migration in discover(db.dialect):
            if migration.version in done:
                continue
            for statement in migration.statements():
                conn.exec_driver_sql(statement)
            conn.execute(sa.text(f"INSERT INTO {VERSION_TABLE} (version, name, applied_at) "
                                 "VALUES (:v, :n, :at)"),
                         {"v": migration.version, "n": migration.name,
                          "at": datetime.now(UTC).isoformat()})
            applied.append(migration.version)
    return applied
