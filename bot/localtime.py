"""Local time: reading "HH:MM", finding a shop's zone, local days and showing instants.

Instants are stored in UTC (DESIGN.md, invariant 6); everything a person types or
reads is wall-clock time in a zone. The rules live here once:

- "HH:MM" is a 24-hour time, one or two hour digits and two minute digits, with
  an ASCII or a full-width colon (``9:30``, ``09:30``, ``09：30``), spaces around
  it allowed. 24:00, 25:00 and 9:60 are refused with a hint. It is stored as
  ``"09:30"``.
- A zone name that is empty or unknown falls back to the fallback zone (the
  shop's zone, for a customer's own), then to UTC; a shop's zone is checked when
  the shop is created (``known_zone``).
- A local wall-clock time that does not exist (clocks spring forward) lands after
  the gap; one that happens twice (clocks fall back) is the first.
- Dates and times are shown with numbers only, the same in every language.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.errors import InvalidInput
from bot.i18n import N_

TIME_HINT = N_("Please give a time like 09:30 (24-hour clock).")
# Read after NFKC normalisation, which turns a full-width colon and digits into ASCII.
_HHMM = re.compile(r"^([0-9]{1,2}):([0-9]{2})$")
_UTC = "UTC"


def read_hhmm(text: str) -> time | None:
    """Return the time of day an "HH:MM" text names, or None when it names none."""
    match = _HHMM.match(unicodedata.normalize("NFKC", text).strip())
    if match is None:
        return None
    hours, minutes = int(match.group(1)), int(match.group(2))
    if hours > 23 or minutes > 59:
        return None
    return time(hours, minutes)


def parse_hhmm(text: str, *, hint: str = TIME_HINT) -> time:
    """Return the time of day an "HH:MM" text names.

    Raises:
        InvalidInput: with ``hint`` when the text is not a 24-hour time.
    """
    at = read_hhmm(text)
    if at is None:
        raise InvalidInput(hint)
    return at


def clean_hhmm(text: str, *, hint: str = TIME_HINT) -> str:
    """Return an "HH:MM" text as it is stored: zero-padded with an ASCII colon.

    Raises:
        InvalidInput: with ``hint`` when the text is not a 24-hour time.
    """
    return show_hhmm(parse_hhmm(text, hint=hint))


@lru_cache(maxsize=512)
def zone(name: str | None, fallback: str | None = _UTC) -> ZoneInfo:
    """Return the zone of an IANA name, else of ``fallback``, else UTC."""
    for candidate in (name, fallback):
        if not candidate:
            continue
        try:
            return ZoneInfo(candidate)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return ZoneInfo(_UTC)


def known_zone(name: str) -> ZoneInfo:
    """Return the zone of an IANA name that must exist (a new shop's).

    Raises:
        InvalidInput: when the name is not a known time zone.
    """
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(N_("Unknown time zone {tz}."), tz=name) from exc


def local_day(moment: datetime, tz: ZoneInfo) -> date:
    """Return the local date of an instant in ``tz``."""
    return moment.astimezone(tz).date()


def at_local(day: date, at: time, tz: ZoneInfo) -> datetime:
    """Return the UTC instant of a local date and time, moving forward over a DST gap."""
    # fold=0 reads a wall time with the offset in force before a transition: in the
    # spring gap that lands after the gap (02:30 → 03:30), in the autumn overlap it
    # is the first of the two.
    return datetime.combine(day, at, tzinfo=tz).replace(fold=0).astimezone(UTC)


def local_midnight(day: date | datetime, tz: ZoneInfo) -> datetime:
    """Return the UTC instant at which a local date (or an instant's local date) begins."""
    if isinstance(day, datetime):
        day = local_day(day, tz)
    return at_local(day, time(0), tz)


def show_hhmm(at: time) -> str:
    """Show a time of day: ``09:30``."""
    return at.strftime("%H:%M")


def show_date(day: date) -> str:
    """Show a date: ``2026-12-01``."""
    return day.strftime("%Y-%m-%d")


def show_month_day(day: date) -> str:
    """Show a date within the year: ``12-01``."""
    return day.strftime("%m-%d")


def show_day(moment: datetime, tz: ZoneInfo) -> str:
    """Show the local date of an instant: ``2026-12-01``."""
    return show_date(local_day(moment, tz))


def show_minute(moment: datetime, tz: ZoneInfo) -> str:
    """Show an instant as local date and time: ``2026-12-01 09:30``."""
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def show_zoned(moment: datetime, tz: ZoneInfo) -> str:
    """Show an instant as local date and time with the zone's abbreviation: ``… 09:30 CST``."""
    local = moment.astimezone(tz)
    return local.strftime("%Y-%m-%d %H:%M ") + (local.tzname() or "")


def show_short(moment: datetime, tz: ZoneInfo) -> str:
    """Show an instant in the next days or weeks as local month, day and time: ``12-01 09:30``."""
    return moment.astimezone(tz).strftime("%m-%d %H:%M")
