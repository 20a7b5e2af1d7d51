"""Reading typed due times in Asia/Shanghai and America/New_York, across DST changes."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.crm.when import Ambiguous, parse_leading_when, parse_when
from bot.errors import InvalidInput

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
# Monday 2026-11-23 16:20 in Shanghai.
NOW = datetime(2026, 11, 23, 8, 20, 30, tzinfo=UTC)


def local(text: str, tz: ZoneInfo = SHANGHAI) -> datetime:
    """Return a local wall time as an aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=tz).astimezone(UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tomorrow 10:00", "2026-11-24 10:00"),
        ("today 17:30", "2026-11-23 17:30"),
        ("明天 10:00", "2026-11-24 10:00"),
        ("后天", "2026-11-25 09:00"),
        ("fri", "2026-11-27 09:00"),
        ("Friday 14:15", "2026-11-27 14:15"),
        ("周五", "2026-11-27 09:00"),
        ("星期日 8:00", "2026-11-29 08:00"),
        ("2026-12-01 09:00", "2026-12-01 09:00"),
        ("12-01 9:00", "2026-12-01 09:00"),
        ("01-05", "2027-01-05 09:00"),
        ("18:00", "2026-11-23 18:00"),
        ("3d", "2026-11-26 16:20"),
    ],
)
def test_reads_local_times_in_shanghai(text: str, expected: str) -> None:
    assert parse_when(text, now=NOW, tz=SHANGHAI) == local(expected)


@pytest.mark.parametrize(
    ("text", "minutes"), [("2h", 120), ("30m", 30), ("2小时", 120), ("45min", 45)]
)
def test_relative_durations_are_exact_and_whole_minutes(text: str, minutes: int) -> None:
    expected = datetime(2026, 11, 23, 8, 20, tzinfo=UTC).timestamp() + minutes * 60
    assert parse_when(text, now=NOW, tz=SHANGHAI).timestamp() == expected  # type: ignore[union-attr]


def test_a_passed_bare_time_asks_back_with_tomorrow() -> None:
    assert parse_when("10:00", now=NOW, tz=SHANGHAI) == Ambiguous((local("2026-11-24 10:00"),))


def test_todays_weekday_asks_today_or_next_week() -> None:
    assert parse_when("mon 18:00", now=NOW, tz=SHANGHAI) == Ambiguous(
        (local("2026-11-23 18:00"), local("2026-11-30 18:00"))
    )
    # Already past today: only next week is possible, and the confirmation shows the date.
    assert parse_when("周一 10:00", now=NOW, tz=SHANGHAI) == local("2026-11-30 10:00")


@pytest.mark.parametrize(
    "text", ["", "someday", "25:00", "tomorrow 9", "2026-02-30", "fri 10:00 extra words", "0h"]
)
def test_unreadable_times_raise_a_hint(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_when(text, now=NOW, tz=SHANGHAI)


def test_past_dates_are_refused() -> None:
    with pytest.raises(InvalidInput, match="already passed"):
        parse_when("today 09:00", now=NOW, tz=SHANGHAI)
    with pytest.raises(InvalidInput, match="already passed"):
        parse_when("2026-01-01 09:00", now=NOW, tz=SHANGHAI)


def test_leading_time_is_read_greedily() -> None:
    parsed, rest = parse_leading_when("tomorrow 10:00 call about pu'er", now=NOW, tz=SHANGHAI)
    assert parsed == local("2026-11-24 10:00")
    assert rest == "call about pu'er"
    parsed, rest = parse_leading_when("fri send samples", now=NOW, tz=SHANGHAI)
    assert (parsed, rest) == (local("2026-11-27 09:00"), "send samples")
    with pytest.raises(InvalidInput):
        parse_leading_when("call her", now=NOW, tz=SHANGHAI)


def test_new_york_spring_forward_gap_moves_forward() -> None:
    now = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)
    # 02:30 does not exist on 2026-03-08; it becomes 03:30 EDT (07:30 UTC).
    assert parse_when("2026-03-08 02:30", now=now, tz=NEW_YORK) == datetime(
        2026, 3, 8, 7, 30, tzinfo=UTC
    )
    assert parse_when("tomorrow 09:00", now=now, tz=NEW_YORK) == datetime(
        2026, 3, 8, 13, 0, tzinfo=UTC
    )


def test_new_york_fall_back_fold_asks_which_one() -> None:
    now = datetime(2026, 10, 31, 12, 0, tzinfo=UTC)
    assert parse_when("2026-11-01 01:30", now=now, tz=NEW_YORK) == Ambiguous(
        (datetime(2026, 11, 1, 5, 30, tzinfo=UTC), datetime(2026, 11, 1, 6, 30, tzinfo=UTC))
    )


def test_days_keep_the_wall_clock_across_dst() -> None:
    now = datetime(2026, 10, 30, 14, 0, tzinfo=UTC)  # Fri 10:00 EDT
    assert parse_when("3d", now=now, tz=NEW_YORK) == datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
    assert parse_when("3d", now=NOW, tz=SHANGHAI) == local("2026-11-26 16:20")
