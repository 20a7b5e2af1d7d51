"""Schedules with an injected clock: weekly across zones and DST, birthdays, one-offs, misfires."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.campaigns import schedules
from bot.campaigns.schedules import Occurrence, Verdict
from bot.crm.models import Campaign, CampaignKind
from bot.localtime import at_local

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


def campaign(
    kind: CampaignKind,
    *,
    weekday: int | None = None,
    send_time: str = "10:00",
    run_date: date | None = None,
    created_at: datetime = LONG_AGO,
    last_fired_at: datetime | None = None,
) -> Campaign:
    return Campaign(
        kind=kind,
        weekday=weekday,
        send_time=send_time,
        run_date=run_date,
        created_at=created_at,
        last_fired_at=last_fired_at,
    )


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_weekly_next_is_the_weekday_at_the_local_time_in_each_zone() -> None:
    monday_ten = campaign(CampaignKind.WEEKLY, weekday=0, send_time="10:00")
    # Wednesday 2026-11-25 12:00 UTC.
    now = utc(2026, 11, 25, 12)
    assert schedules.next_occurrence(monday_ten, now=now, tz=SHANGHAI) == Occurrence(
        "2026-W49", utc(2026, 11, 30, 2)
    )
    assert schedules.next_occurrence(monday_ten, now=now, tz=NEW_YORK) == Occurrence(
        "2026-W49", utc(2026, 11, 30, 15)
    )


def test_weekly_on_the_day_itself_before_and_after_the_time() -> None:
    monday_ten = campaign(CampaignKind.WEEKLY, weekday=0)
    before = utc(2026, 11, 30, 1, 59)  # Monday 09:59 in Shanghai
    after = utc(2026, 11, 30, 2, 0)  # exactly 10:00: that one is no longer "next"
    assert schedules.next_occurrence(monday_ten, now=before, tz=SHANGHAI) == Occurrence(
        "2026-W49", utc(2026, 11, 30, 2)
    )
    assert schedules.next_occurrence(monday_ten, now=after, tz=SHANGHAI) == Occurrence(
        "2026-W50", utc(2026, 12, 7, 2)
    )


def test_weekly_key_is_the_iso_week_of_the_local_date() -> None:
    # Sunday 2027-01-03 is in ISO week 2026-W53.
    sunday = campaign(CampaignKind.WEEKLY, weekday=6, send_time="09:00")
    now = utc(2026, 12, 30)
    assert schedules.next_occurrence(sunday, now=now, tz=BERLIN) == Occurrence(
        "2026-W53", utc(2027, 1, 3, 8)
    )


def test_weekly_keeps_local_time_across_daylight_saving() -> None:
    sunday_nine = campaign(CampaignKind.WEEKLY, weekday=6, send_time="09:00")
    # Europe switches to summer time on Sunday 2026-03-29 and back on 2026-10-25.
    spring = schedules.next_occurrence(sunday_nine, now=utc(2026, 3, 28), tz=BERLIN)
    autumn = schedules.next_occurrence(sunday_nine, now=utc(2026, 10, 24), tz=BERLIN)
    assert spring == Occurrence("2026-W13", utc(2026, 3, 29, 7))
    assert autumn == Occurrence("2026-W43", utc(2026, 10, 25, 8))


def test_a_time_in_the_spring_gap_moves_forward_and_an_autumn_repeat_takes_the_first() -> None:
    assert at_local(date(2026, 3, 29), time(2, 30), BERLIN) == utc(2026, 3, 29, 1, 30)
    assert at_local(date(2026, 3, 8), time(2, 30), NEW_YORK) == utc(2026, 3, 8, 7, 30)
    assert at_local(date(2026, 10, 25), time(2, 30), BERLIN) == utc(2026, 10, 25, 0, 30)
    weekly = campaign(CampaignKind.WEEKLY, weekday=6, send_time="02:30")
    assert schedules.next_occurrence(weekly, now=utc(2026, 3, 28), tz=BERLIN) == Occurrence(
        "2026-W13", utc(2026, 3, 29, 1, 30)
    )


def test_birthday_is_daily_at_the_send_time_keyed_by_local_date() -> None:
    birthday = campaign(CampaignKind.BIRTHDAY, send_time="08:00")
    # 2026-11-30 23:30 UTC is 07:30 on 1 December in Shanghai: today's send is still ahead.
    now = utc(2026, 11, 30, 23, 30)
    assert schedules.next_occurrence(birthday, now=now, tz=SHANGHAI) == Occurrence(
        "2026-12-01", utc(2026, 12, 1, 0)
    )
    assert schedules.latest_due(birthday, now=now, tz=SHANGHAI) == Occurrence(
        "2026-11-30", utc(2026, 11, 30, 0)
    )


def test_birthday_occurrence_on_28_february_of_a_common_year() -> None:
    # People born on 29 February are greeted on 28 February (see audiences); the
    # occurrence itself is just that local date.
    birthday = campaign(CampaignKind.BIRTHDAY, send_time="09:00")
    now = utc(2027, 2, 27, 12)
    assert schedules.next_occurrence(birthday, now=now, tz=SHANGHAI) == Occurrence(
        "2027-02-28", utc(2027, 2, 28, 1)
    )
    leap = utc(2028, 2, 28, 12)
    assert schedules.next_occurrence(birthday, now=leap, tz=SHANGHAI) == Occurrence(
        "2028-02-29", utc(2028, 2, 29, 1)
    )


def test_holiday_fires_once_on_its_date_and_never_again() -> None:
    holiday = campaign(CampaignKind.HOLIDAY, run_date=date(2026, 12, 25), send_time="09:00")
    before = utc(2026, 12, 1)
    on_day = utc(2026, 12, 25, 1, 30)
    assert schedules.next_occurrence(holiday, now=before, tz=SHANGHAI) == Occurrence(
        "once", utc(2026, 12, 25, 1)
    )
    assert schedules.latest_due(holiday, now=before, tz=SHANGHAI) is None
    assert schedules.latest_due(holiday, now=on_day, tz=SHANGHAI) == Occurrence(
        "once", utc(2026, 12, 25, 1)
    )
    holiday.last_fired_at = utc(2026, 12, 25, 1)
    assert schedules.latest_due(holiday, now=on_day, tz=SHANGHAI) is None
    assert schedules.next_occurrence(holiday, now=before, tz=SHANGHAI) is None


def test_broadcast_without_a_date_is_due_when_created() -> None:
    created = utc(2026, 11, 30, 8)
    broadcast = campaign(CampaignKind.BROADCAST, created_at=created)
    assert schedules.latest_due(broadcast, now=created, tz=SHANGHAI) == Occurrence("once", created)
    assert schedules.next_occurrence(broadcast, now=created, tz=SHANGHAI) is None


def test_welcome_has_no_schedule() -> None:
    welcome = campaign(CampaignKind.WELCOME)
    now = utc(2026, 11, 30)
    assert schedules.next_occurrence(welcome, now=now, tz=SHANGHAI) is None
    assert schedules.latest_due(welcome, now=now, tz=SHANGHAI) is None
    assert schedules.key_for(CampaignKind.WELCOME, now.date()) == "welcome"


def test_latest_due_ignores_occurrences_before_creation_and_already_fired() -> None:
    monday_ten = campaign(CampaignKind.WEEKLY, weekday=0, created_at=utc(2026, 12, 1))
    tuesday = utc(2026, 12, 1, 6)  # the Monday before was before the campaign existed
    assert schedules.latest_due(monday_ten, now=tuesday, tz=SHANGHAI) is None
    monday_ten.created_at = LONG_AGO
    due = schedules.latest_due(monday_ten, now=tuesday, tz=SHANGHAI)
    assert due == Occurrence("2026-W49", utc(2026, 11, 30, 2))
    monday_ten.last_fired_at = due.at
    assert schedules.latest_due(monday_ten, now=tuesday, tz=SHANGHAI) is None


def test_only_the_latest_missed_occurrence_is_due() -> None:
    birthday = campaign(CampaignKind.BIRTHDAY, last_fired_at=utc(2026, 11, 20, 2))
    now = utc(2026, 11, 30, 5)  # down for ten days
    assert schedules.latest_due(birthday, now=now, tz=SHANGHAI) == Occurrence(
        "2026-11-30", utc(2026, 11, 30, 2)
    )


@pytest.mark.parametrize(
    ("late", "expected"),
    [
        (timedelta(0), Verdict.FIRE),
        (timedelta(seconds=30), Verdict.FIRE),
        (timedelta(hours=5, minutes=59), Verdict.FIRE),
        (timedelta(hours=6), Verdict.FIRE),
        (timedelta(hours=6, minutes=2), Verdict.SKIP),
        (timedelta(days=3), Verdict.SKIP),
    ],
)
def test_misfire_within_grace_fires_once_and_over_grace_skips(
    late: timedelta, expected: Verdict
) -> None:
    due = Occurrence("2026-W49", utc(2026, 11, 30, 2))
    assert schedules.verdict(due, now=due.at + late, grace=timedelta(hours=6)) is expected
