"""When a message goes out: an aware time, a local time in a zone, or a quick offset.

Stored in UTC. The user may give local time with a zone ("2026-05-01 09:00" in
"Europe/Warsaw"); a time without a zone and no `tz` is refused rather than guessed.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from conveyor_commerce.errors import InvalidMessage

QUICK_OFFSETS = {"+5m": 300, "+30m": 1800, "+1h": 3600, "+1d": 86400}
"""The offsets the CLI and the dashboard offer as one-click choices."""
_OFFSET = re.compile(r"^\+?\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d)$")
_UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}


def offset_seconds(offset: str | float) -> float:
    """"+30m" -> 1800; also "+90s", "+2h", "+1d" or a number of seconds."""
    if isinstance(offset, int | float) and not isinstance(offset, bool):
        seconds = float(offset)
    else:
        match = _OFFSET.match(str(offset).strip().lower())
        if match is None:
            raise InvalidMessage(f"offset {offset!r} is not like {', '.join(QUICK_OFFSETS)}")
        seconds = float(match[1]) * _UNITS[match[2]]
    if seconds < 0:
        raise InvalidMessage(f"offset {offset!r} is negative")
    return seconds


def zone(tz: str | None) -> ZoneInfo | None:
    if tz is None:
        return None
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidMessage(f"time zone {tz!r} is unknown (use a name like "
                             "'Europe/Warsaw')") from None


def resolve(now: datetime, *, at: datetime | str | None = None,
            offset: str | float | None = None, tz: str | None = None,
            default_lead: float = 0.0) -> datetime:
    """The UTC time a message is due."""
    if at is not None and offset is not None:
        raise InvalidMessage("give a time (at=) or an offset, not both")
    if offset is not None:
        return now + timedelta(seconds=offset_seconds(offset))
    if at is None:
        return now + timedelta(seconds=default_lead)
    if isinstance(at, str):
        try:
            at = datetime.fromisoformat(at.strip())
        except ValueError:
            raise InvalidMessage(f"time {at!r} is not ISO 8601 (e.g. 2026-05-01T09:00 or "
                                 "2026-05-01T09:00+02:00)") from None
    if not isinstance(at, datetime):
        raise InvalidMessage(f"time must be a datetime, got {type(at).__name__}")
    local = zone(tz)
    if at.tzinfo is None:
        if local is None:
            raise InvalidMessage(f"time {at.isoformat()} has no zone: pass tz= (e.g. "
                                 "'Europe/Warsaw') or an aware datetime")
        at = at.replace(tzinfo=local)
    return at.astimezone(UTC)


def check_lead(due: datetime, now: datetime, min_lead: float) -> None:
    """Refuse a time less than `min_lead` seconds ahead (one second of slack for the clock
    that moved while the request was checked)."""
    if due < now + timedelta(seconds=min_lead - 1.0):
        raise InvalidMessage(
            f"scheduled time {due.isoformat()} is less than {min_lead / 60:g} minutes ahead "
            f"of now ({now.astimezone(UTC).isoformat(timespec='seconds')}); schedule it later")
