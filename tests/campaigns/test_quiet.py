"""Quiet hours across time zones, midnight and DST changes, with the clock passed in."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.campaigns.quiet import quiet_until
from bot.localtime import zone


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_same_start_and_end_means_no_quiet_hours() -> None:
    assert quiet_until(utc(2026, 11, 30, 23, 0), "UTC", "09:00", "09:00") is None


@pytest.mark.parametrize(
    ("now", "tz", "expected"),
    [
        # 22:30 in Shanghai (UTC+8): quiet until 09:00 the next local morning.
        (utc(2026, 11, 30, 14, 30), "Asia/Shanghai", utc(2026, 12, 1, 1, 0)),
        # 02:00 in Shanghai: quiet until 09:00 the same local day.
        (utc(2026, 11, 30, 18, 0), "Asia/Shanghai", utc(2026, 12, 1, 1, 0)),
        # The same instant is 13:00 in New York (UTC-5 in winter): not quiet.
        (utc(2026, 11, 30, 18, 0), "America/New_York", None),
        # 21:00 sharp in Berlin (UTC+1) is the first quiet minute; 09:00 the first free one.
        (utc(2026, 11, 30, 20, 0), "Europe/Berlin", utc(2026, 12, 1, 8, 0)),
        (utc(2026, 12, 1, 8, 0), "Europe/Berlin", None),
        (utc(2026, 12, 1, 7, 59), "Europe/Berlin", utc(2026, 12, 1, 8, 0)),
    ],
)
def test_wrapping_window_per_zone(now: datetime, tz: str, expected: datetime | None) -> None:
    assert quiet_until(now, tz, "21:00", "09:00") == expected


def test_window_within_one_day() -> None:
    # Quiet 12:00–14:00 (a lunch break) in New York.
    assert quiet_until(utc(2026, 7, 1, 16, 30), "America/New_York", "12:00", "14:00") == utc(
        2026, 7, 1, 18, 0
    )
    assert quiet_until(utc(2026, 7, 1, 18, 0), "America/New_York", "12:00", "14:00") is None


def test_night_across_spring_forward_keeps_local_morning() -> None:
    # New York springs forward on 8 March 2026: 23:00 EST on the 7th (04:00 UTC on the 8th)
    # waits until 09:00 EDT on the 8th, which is 13:00 UTC (not 14:00).
    assert quiet_until(utc(2026, 3, 8, 4, 0), "America/New_York", "21:00", "09:00") == utc(
        2026, 3, 8, 13, 0
    )
    # Berlin springs forward on 29 March 2026: 09:00 CEST is 07:00 UTC.
    assert quiet_until(utc(2026, 3, 28, 22, 0), "Europe/Berlin", "21:00", "09:00") == utc(
        2026, 3, 29, 7, 0
    )


def test_night_across_fall_back_keeps_local_morning() -> None:
    # Berlin falls back on 25 October 2026: 09:00 CET that morning is 08:00 UTC.
    assert quiet_until(utc(2026, 10, 24, 21, 0), "Europe/Berlin", "21:00", "09:00") == utc(
        2026, 10, 25, 8, 0
    )


def test_end_inside_a_dst_gap_lands_after_the_gap() -> None:
    # 02:30 does not exist in New York on 8 March 2026; the wait ends after the gap.
    until = quiet_until(utc(2026, 3, 8, 6, 0), "America/New_York", "01:00", "02:30")
    assert until is not None
    assert until > utc(2026, 3, 8, 6, 0)
    assert until.astimezone(zone("America/New_York")).hour == 3


def test_unknown_zone_falls_back_to_utc() -> None:
    assert zone("Mars/Olympus").key == "UTC"
    assert zone(None, "Asia/Shanghai").key == "Asia/Shanghai"
    assert quiet_until(utc(2026, 11, 30, 22, 0), "Mars/Olympus", "21:00", "09:00") == utc(
        2026, 12, 1, 9, 0
    )


def test_a_full_width_window_reads_like_an_ascii_one() -> None:
    now = utc(2026, 11, 30, 14, 30)
    assert quiet_until(now, "Asia/Shanghai", "21：00", "09：00") == quiet_until(
        now, "Asia/Shanghai", "21:00", "09:00"
    )
