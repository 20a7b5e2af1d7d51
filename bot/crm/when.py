"""When: reading a due time a rep typed ("tomorrow 10:00", "fri", "2h", "明天 10:00").

Times are read in the workspace's time zone and returned as aware UTC datetimes,
truncated to the minute. Rules, so nothing is guessed silently:

- A time of day follows ``bot.localtime``'s HH:MM rule (``10:00``, ``9：30``).
- A day without a time means ``DEFAULT_TIME`` (09:00) local.
- A bare time ("10:00") is today when still ahead; when it has passed, the
  answer is ``Ambiguous`` with tomorrow as the candidate, so the rep confirms.
- A weekday ("fri", "周五") is the next such day; when today is that weekday and
  the time is still ahead, the answer is ``Ambiguous`` (today or next week).
- "12-01" is this year, or next year once that date has passed.
- "3d" keeps the wall-clock time three days on; "2h" and "30m" are exact durations.
- Daylight saving: a local time that does not exist (clocks spring forward) is
  moved forward by the gap (02:30 becomes 03:30); a local time that happens
  twice (clocks fall back) is ``Ambiguous`` with both instants, earlier first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.errors import InvalidInput
from bot.i18n import N_
from bot.localtime import parse_hhmm, read_hhmm

DEFAULT_TIME = time(9, 0)
MAX_WORDS = 4
HINT = N_(
    "I couldn't read that time. Try “tomorrow 10:00”, “fri 9:30”, “2h”, "
    "“3d”, “2026-12-01 09:00” or “明天 10:00”."
)
PAST = N_("That time has already passed. Please give a time in the future.")

_WEEKDAYS = {
    "mon": 0, "monday": 0, "tue": 1, "tues": 1, "tuesday": 1, "wed": 2, "wednesday": 2,
    "thu": 3, "thur": 3, "thurs": 3, "thursday": 3, "fri": 4, "friday": 4,
    "sat": 5, "saturday": 5, "sun": 6, "sunday": 6,
}  # fmt: skip
_CN_DIGITS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_DAY_WORDS = {"today": 0, "今天": 0, "tomorrow": 1, "tmr": 1, "明天": 1, "后天": 2}
_RELATIVE = re.compile(r"^(\d{1,3})\s*(m|min|mins|分钟|h|hr|hrs|小时|d|day|days|天)$")
_DATE = re.compile(r"^(?:(\d{4})[-/.])?(\d{1,2})[-/.](\d{1,2})$")
_CN_WEEKDAY = re.compile(r"^(?:周|星期|礼拜)([一二三四五六日天])$")


@dataclass(frozen=True, slots=True)
class Ambiguous:
    """A time that could mean more than one instant; ask the rep to pick one."""

    candidates: tuple[datetime, ...]


Parsed = datetime | Ambiguous


def parse_when(text: str, *, now: datetime, tz: ZoneInfo) -> Parsed:
    """Read a due time typed by a rep, relative to ``now`` in zone ``tz``.

    Raises:
        InvalidInput: when the text is not a time, or the time is in the past.
    """
    words = text.strip().lower().split()
    if not words or len(words) > 2:
        raise InvalidInput(HINT)
    local_now = now.astimezone(tz)
    if len(words) == 1 and (match := _RELATIVE.match(words[0])):
        return _relative(int(match.group(1)), match.group(2), now=now, tz=tz)
    day_word, clock = (words[0], words[1]) if len(words) == 2 else (words[0], None)
    if len(words) == 1 and (bare := read_hhmm(words[0])) is not None:
        return _bare_time(bare, now=now, tz=tz)
    at = parse_hhmm(clock, hint=HINT) if clock else DEFAULT_TIME
    return _day(day_word, at, local_now=local_now, now=now, tz=tz)


def parse_leading_when(text: str, *, now: datetime, tz: ZoneInfo) -> tuple[Parsed, str]:
    """Read the longest leading run of words that is a time; return it and the rest.

    Raises:
        InvalidInput: when no leading words form a time (or the time is past).
    """
    words = text.split()
    error: InvalidInput | None = None
    for count in range(min(MAX_WORDS, len(words)), 0, -1):
        try:
            parsed = parse_when(" ".join(words[:count]), now=now, tz=tz)
        except InvalidInput as exc:
            if exc.key == PAST and error is None:
                error = exc
            continue
        return parsed, " ".join(words[count:])
    raise error or InvalidInput(HINT)


def resolve_local(day: date, at: time, tz: ZoneInfo) -> Parsed:
    """Turn a local wall-clock time into UTC, applying the daylight-saving rules above."""
    first = datetime.combine(day, at, tzinfo=tz)
    second = first.replace(fold=1)
    if first.utcoffset() == second.utcoffset():
        return first.astimezone(UTC)
    if _exists(first):
        # Clocks fell back: the wall time happens twice; offer both, earlier first.
        return Ambiguous(tuple(sorted({first.astimezone(UTC), second.astimezone(UTC)})))
    # Clocks sprang forward: fold=0 reads it with the old offset, i.e. shifted by the gap.
    return first.astimezone(UTC)


def _exists(local: datetime) -> bool:
    back = local.astimezone(UTC).astimezone(local.tzinfo)
    return back.replace(tzinfo=None) == local.replace(tzinfo=None)


def _relative(amount: int, unit: str, *, now: datetime, tz: ZoneInfo) -> Parsed:
    if amount <= 0:
        raise InvalidInput(PAST)
    if unit[0] in "d天":
        local = now.astimezone(tz)
        day = local.date() + timedelta(days=amount)
        return resolve_local(day, local.time().replace(second=0, microsecond=0), tz)
    minutes = amount * 60 if unit[0] in "h小" else amount
    return _minute(now + timedelta(minutes=minutes))


def _bare_time(at: time, *, now: datetime, tz: ZoneInfo) -> Parsed:
    local_now = now.astimezone(tz)
    today = _future(resolve_local(local_now.date(), at, tz), now)
    if today is not None:
        return today
    tomorrow = resolve_local(local_now.date() + timedelta(days=1), at, tz)
    return tomorrow if isinstance(tomorrow, Ambiguous) else Ambiguous((tomorrow,))


def _day(word: str, at: time, *, local_now: datetime, now: datetime, tz: ZoneInfo) -> Parsed:
    weekday = _weekday(word)
    if weekday is not None:
        ahead = (weekday - local_now.weekday()) % 7
        next_week = resolve_local(local_now.date() + timedelta(days=ahead or 7), at, tz)
        if ahead:
            return next_week
        today = _future(resolve_local(local_now.date(), at, tz), now)
        if today is None:
            return next_week
        return Ambiguous(_flat(today) + _flat(next_week))
    if word in _DAY_WORDS:
        day = local_now.date() + timedelta(days=_DAY_WORDS[word])
    elif match := _DATE.match(word):
        day = _read_date(match, local_now.date())
    else:
        raise InvalidInput(HINT)
    parsed = _future(resolve_local(day, at, tz), now)
    if parsed is None:
        raise InvalidInput(PAST)
    return parsed


def _weekday(word: str) -> int | None:
    if word in _WEEKDAYS:
        return _WEEKDAYS[word]
    match = _CN_WEEKDAY.match(word)
    return _CN_DIGITS[match.group(1)] if match else None


def _read_date(match: re.Match[str], today: date) -> date:
    year, month, day = match.groups()
    try:
        if year is not None:
            return date(int(year), int(month), int(day))
        candidate = date(today.year, int(month), int(day))
        if candidate < today:
            candidate = date(today.year + 1, int(month), int(day))
    except ValueError as exc:
        raise InvalidInput(HINT) from exc
    return candidate


def _future(parsed: Parsed, now: datetime) -> Parsed | None:
    """Keep only the candidates after ``now``; None when none is left."""
    if isinstance(parsed, datetime):
        return parsed if parsed > now else None
    left = tuple(c for c in parsed.candidates if c > now)
    if not left:
        return None
    return Ambiguous(left) if len(left) > 1 else left[0]


def _flat(parsed: Parsed) -> tuple[datetime, ...]:
    return parsed.candidates if isinstance(parsed, Ambiguous) else (parsed,)


def _minute(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(second=0, microsecond=0)
