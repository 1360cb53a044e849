"""Numbered migrations shipped as `migrations/NNNN_name.sql` beside each backend."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection
from importlib import resources

from conveyor import errors

_FILE = re.compile(r"^(\d{4})_(\w+)\.sql$")


@dataclasses.dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def discover(package: str) -> list[Migration]:
    """All migrations of a backend package, in version order; gaps are an error."""
    found = []
    for entry in resources.files(package).joinpath("migrations").iterdir():
        match = _FILE.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text()))
    found.sort(key=lambda m: m.version)
    expected = list(range(1, len(found) + 1))
    if [m.version for m in found] != expected:
        raise RuntimeError(f"migrations of {package} are not numbered 1..n: "
                           f"{[m.version for m in found]}")
    return found


def pending(available: list[Migration], applied: set[int]) -> list[Migration]:
    return [m for m in available if m.version not in applied]


def require(available: list[Migration], applied: Collection[int] | None, where: str) -> None:
    """Raise `NotMigrated` unless every migration of `available` is in `applied` (None: the
    database has no migrations table at all)."""
    if not applied:
        raise errors.NotMigrated(
            f"{where} has no Conveyor tables; create them with `conveyor migrate` "
            "(workers also do when they start, unless --no-migrate)")
    missing = [m.version for m in pending(available, set(applied))]
    if missing:
        raise errors.NotMigrated(
            f"{where} lacks Conveyor migration(s) {', '.join(map(str, missing))}; "
            "upgrade it with `conveyor migrate`")
