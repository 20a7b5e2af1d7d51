"""Local time: one HH:MM rule, one zone lookup, local days and the formats the bot shows."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from bot import localtime
from bot.errors import InvalidInput

SHANGHAI = localtime.zone("Asia/Shanghai")
NEW_YORK = localtime.zone("America/New_York")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("9:30", time(9, 30)),
        ("09:30", time(9, 30)),
        ("09：30", time(9, 30)),
        ("  22：00 ", time(22, 0)),
        ("０９：３０", time(9, 30)),
        ("0:00", time(0, 0)),
        ("23:59", time(23, 59)),
    ],
)
def test_hhmm_reads_ascii_and_full_width_colons(text: str, expected: time) -> None:
    assert localtime.parse_hhmm(text) == expected
    assert localtime.read_hhmm(text) == expected


@pytest.mark.parametrize(
    "bad", ["24:00", "25:00", "9:60", "9", "9:5", "930", "ab:cd", "-1:00", "9:30pm", "", "1:2:3"]
)
def test_hhmm_refuses_what_is_not_a_time_with_a_hint(bad: str) -> None:
    assert localtime.read_hhmm(bad) is None
    with pytest.raises(InvalidInput) as refused:
        localtime.parse_hhmm(bad)
    assert refused.value.key == localtime.TIME_HINT
    with pytest.raises(InvalidInput) as own:
        localtime.parse_hhmm(bad, hint="Send a time, or “off”.")
    assert own.value.key == "Send a time, or “off”."


def test_hhmm_is_stored_zero_padded_with_an_ascii_colon() -> None:
    assert localtime.clean_hhmm("9：05") == "09:05"
    assert localtime.show_hhmm(time(7, 0)) == "07:00"


def test_zone_falls_back_to_the_fallback_then_utc() -> None:
    assert localtime.zone("Asia/Shanghai").key == "Asia/Shanghai"
    assert localtime.zone(None, "Asia/Shanghai").key == "Asia/Shanghai"
    assert localtime.zone("", "Europe/Berlin").key == "Europe/Berlin"
    assert localtime.zone("Mars/Olympus", "Asia/Shanghai").key == "Asia/Shanghai"
    assert localtime.zone("Mars/Olympus").key == "UTC"
    assert localtime.zone(None, None).key == "UTC"
    assert localtime.zone("../etc/passwd", "also wrong").key == "UTC"


def test_known_zone_refuses_an_unknown_name() -> None:
    assert localtime.known_zone("Europe/Berlin").key == "Europe/Berlin"
    with pytest.raises(InvalidInput) as refused:
        localtime.known_zone("Mars/Olympus")
    assert refused.value.params == {"tz": "Mars/Olympus"}


def test_local_day_and_midnight() -> None:
    # 23:30 UTC on 30 November is already 1 December in Shanghai.
    moment = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
    assert localtime.local_day(moment, SHANGHAI) == date(2026, 12, 1)
    assert localtime.local_midnight(moment, SHANGHAI) == datetime(2026, 11, 30, 16, tzinfo=UTC)
    assert localtime.local_midnight(date(2026, 12, 1), SHANGHAI) == datetime(
        2026, 11, 30, 16, tzinfo=UTC
    )


def test_at_local_moves_over_the_spring_gap_and_takes_the_first_of_two() -> None:
    # New York springs forward on 8 March 2026 (02:30 does not exist) and falls
    # back on 1 November 2026 (01:30 happens twice).
    assert localtime.at_local(date(2026, 3, 8), time(2, 30), NEW_YORK) == datetime(
        2026, 3, 8, 7, 30, tzinfo=UTC
    )
    assert localtime.at_local(date(2026, 11, 1), time(1, 30), NEW_YORK) == datetime(
        2026, 11, 1, 5, 30, tzinfo=UTC
    )


def test_the_formats_the_bot_shows() -> None:
    moment = datetime(2026, 11, 30, 23, 5, tzinfo=UTC)
    assert localtime.show_date(date(2026, 12, 1)) == "2026-12-01"
    assert localtime.show_month_day(date(2026, 12, 1)) == "12-01"
    assert localtime.show_day(moment, SHANGHAI) == "2026-12-01"
    assert localtime.show_minute(moment, SHANGHAI) == "2026-12-01 07:05"
    assert localtime.show_zoned(moment, SHANGHAI) == "2026-12-01 07:05 CST"
    assert localtime.show_short(moment, SHANGHAI) == "12-01 07:05"
