"""A fresh demo database at every start: the sample data then means the same thing each time
(a shop whose sandbox is new has nothing the sync status remembers, a campaign does not queue
behind the last run's). Only a database whose name says `demo` is wiped - `demo.db`,
`postgresql://.../conveyor_demo` - so pointing the demo at real data by mistake stops it with
a clear error instead."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo


class NotADemoDatabase(Exception):
    pass


def fresh(url: str) -> None:
    """Empty the database at `url` (SQLite: remove the file; PostgreSQL: drop and create)."""
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        _fresh_sqlite(Path(urlsplit(url).path[1:]))
    elif scheme.startswith("postgres"):
        _fresh_postgres(url)
    else:
        raise NotADemoDatabase(f"the demo runs on SQLite or PostgreSQL, not {scheme!r}")


def _fresh_sqlite(path: Path) -> None:
    _check_name(path.name)
    for suffix in ("", "-wal", "-shm", "-journal"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def _fresh_postgres(url: str) -> None:
    params = conninfo_to_dict(url)
    name = str(params.get("dbname") or "")
    _check_name(name)
    if _empty(url):
        return
    with psycopg.connect(make_conninfo(url, dbname="postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _empty(url: str) -> bool:
    """The database exists and holds no table yet (creating it again would cost seconds)."""
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            row = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname NOT IN "
                               "('pg_catalog', 'information_schema')").fetchone()
    except psycopg.OperationalError:  # it does not exist (or cannot be reached: see below)
        return False
    return row is not None and row[0] == 0


def _check_name(name: str) -> None:
    if "demo" not in name.lower():
        raise NotADemoDatabase(
            f"the demo empties its database at every start, so it runs only on one whose "
            f"name says demo (demo.db, postgresql://.../conveyor_demo); {name!r} does not")
