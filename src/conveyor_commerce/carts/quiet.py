"""Quiet hours in the customer's time zone: a reminder due at night waits for the morning.

The zone is the cart's own (`time_zone`, when the shop knows it) or the one Google's
phone-number data gives the number (`phonenumbers.timezone`; a country with several zones
takes the number's region when the data has it, else the first zone listed), else UTC.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as number_zones

from conveyor_commerce.errors import InvalidCart

UNKNOWN = "Etc/Unknown"
Window = tuple[time, time]


def zone_name(value: str | None) -> str | None:
    """A valid IANA zone name (or None); `InvalidCart` otherwise."""
    if value is None:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise InvalidCart(f"time_zone: {value!r:.40} is not an IANA zone like "
                          "'Europe/Warsaw'") from None
    return value


def zone_for(phone: str, override: str | None = None) -> ZoneInfo:
    """The customer's zone: `override`, else the number's, else UTC."""
    if override:
        return ZoneInfo(override)
    try:
        parsed = phonenumbers.parse("+" + phone.lstrip("+"), None)
    except phonenumbers.NumberParseException:
        return ZoneInfo("UTC")
    zones = [z for z in number_zones.time_zones_for_number(parsed) if z != UNKNOWN]
    return ZoneInfo(zones[0]) if zones else ZoneInfo("UTC")


def check_window(window: Window | None) -> Window | None:
    if window is None:
        return None
    if not (isinstance(window, tuple) and len(window) == 2
            and all(isinstance(t, time) and t.tzinfo is None for t in window)
            and window[0] != window[1]):
        raise ValueError("quiet_hours: (start, end) as two different naive datetime.time "
                         "values, e.g. (time(21), time(9)), or None")
    return window


def _inside(moment: time, window: Window) -> bool:
    start, end = window
    if start < end:
        return start <= moment < end
    return moment >= start or moment < end  # the window crosses midnight


def quiet_until(now: datetime, zone: ZoneInfo, window: Window | None) -> datetime | None:
    """When the quiet hours that `now` falls in end (aware, UTC-comparable), or None when
    a message may go now."""
    if window is None:
        return None
    local = now.astimezone(zone)
    if not _inside(local.time(), window):
        return None
    end = window[1]
    day = local.date() if local.time() < end else local.date() + timedelta(days=1)
    morning = datetime.combine(day, end, tzinfo=zone)
    # A morning that a daylight-saving jump skipped or doubled still maps to one instant.
    return morning.astimezone(now.tzinfo) if now.tzinfo else morning
