"""Inbox settings: opening hours (wrapping midnight, across DST), the reply SLA and signing."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crm.inbox import settings
from bot.crm.inbox.settings import Hours
from bot.crm.models import AuditLog
from bot.crm.store import unit_of_work
from bot.errors import InvalidInput, PermissionDenied
from tests.factories import make_shop

Sessions = async_sessionmaker[AsyncSession]
SHANGHAI = "Asia/Shanghai"  # UTC+8, no DST
DAY = Hours(time(9), time(21))
NIGHT = Hours(time(18), time(2))


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "hours"),
    [
        ("09:00-21:00", DAY),
        ("9:00 – 21:00", DAY),
        ("０９：００－２１：００", DAY),
        ("09:00 to 21:00", DAY),
        ("18:00-02:00", NIGHT),
        ("off", None),
    ],
)
def test_hours_are_read_in_the_usual_spellings(text: str, hours: Hours | None) -> None:
    assert settings.parse_hours(text) == hours


@pytest.mark.parametrize("text", ["09:00", "09:00-09:00", "25:00-10:00", "nine to five", ""])
def test_hours_that_are_not_two_different_times_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput):
        settings.parse_hours(text)


@pytest.mark.parametrize(
    ("text", "minutes"), [("30m", 30), ("2h", 120), ("45", 45), ("90 分钟", 90), ("off", None)]
)
def test_the_reply_sla_is_read_in_minutes(text: str, minutes: int | None) -> None:
    assert settings.parse_sla(text) == minutes


@pytest.mark.parametrize("text", ["0m", "169h", "soon", "-5m"])
def test_a_reply_sla_out_of_range_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput):
        settings.parse_sla(text)


@pytest.mark.parametrize(
    ("local_hour", "is_open"),
    [(8, False), (9, True), (20, True), (21, False), (23, False)],
)
def test_day_hours(local_hour: int, is_open: bool) -> None:
    now = _utc(2026, 12, 1, 0) + timedelta(hours=local_hour - 8)
    assert settings.is_open(DAY, SHANGHAI, now) is is_open


@pytest.mark.parametrize(
    ("local_hour", "is_open"),
    [(17, False), (18, True), (23, True), (1, True), (2, False), (3, False)],
)
def test_hours_wrapping_midnight(local_hour: int, is_open: bool) -> None:
    now = _utc(2026, 12, 1, 0) + timedelta(hours=(local_hour - 8) % 24)
    assert settings.is_open(NIGHT, SHANGHAI, now) is is_open


def test_next_opening_in_the_shops_zone() -> None:
    before = _utc(2026, 12, 1, 0)  # 08:00 local
    after = _utc(2026, 12, 1, 14)  # 22:00 local
    assert settings.next_opening(DAY, SHANGHAI, before) == _utc(2026, 12, 1, 1)
    assert settings.next_opening(DAY, SHANGHAI, after) == _utc(2026, 12, 2, 1)
    # Open, or no hours at all: answers come now.
    during = _utc(2026, 12, 1, 5)
    assert settings.next_opening(DAY, SHANGHAI, during) == during
    assert settings.next_opening(None, SHANGHAI, after) == after
    # Wrapping midnight: closed at 03:00 local, open again at 18:00 the same day.
    assert settings.next_opening(NIGHT, SHANGHAI, _utc(2026, 11, 30, 19)) == _utc(2026, 12, 1, 10)


def test_next_opening_keeps_the_local_time_across_dst() -> None:
    # Berlin moves to summer time in the night to Sunday 2026-03-29: 09:00 is 07:00 UTC.
    saturday_night = _utc(2026, 3, 28, 20, 30)  # 21:30 CET
    assert settings.next_opening(DAY, "Europe/Berlin", saturday_night) == _utc(2026, 3, 29, 7)
    # New York springs forward at 02:00 on 2026-03-08: 02:30 does not exist that day and
    # moves forward by the gap, to 03:30 EDT.
    early = Hours(time(2, 30), time(5))
    at_one = _utc(2026, 3, 8, 6)  # 01:00 EST
    assert settings.next_opening(early, "America/New_York", at_one) == _utc(2026, 3, 8, 7, 30)
    # It falls back at 02:00 on 2026-11-01: 01:30 happens twice; after the first, the second.
    late = Hours(time(1, 30), time(5))
    second_one = _utc(2026, 11, 1, 6)  # the second 01:00, EST
    assert settings.next_opening(late, "America/New_York", second_one) == _utc(2026, 11, 1, 6, 30)


async def test_only_managers_change_settings_and_changes_are_audited(sessions: Sessions) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        ws = shop.workspace.id
        defaults = await settings.get_settings(session, workspace_id=ws)
        assert (defaults.hours, defaults.reply_sla, defaults.sign_replies) == (None, None, True)
        assert defaults.is_open(_utc(2026, 12, 1, 20))
        with pytest.raises(PermissionDenied):
            await settings.set_hours(session, actor=shop.li, hours=DAY)
        await settings.set_hours(session, actor=shop.admin, hours=NIGHT)
        await settings.set_reply_sla(session, actor=shop.owner, minutes=30)
        saved = await settings.set_signature(session, actor=shop.owner, on=False)
        assert (saved.hours, saved.reply_sla, saved.sign_replies) == (
            NIGHT,
            timedelta(minutes=30),
            False,
        )
        assert saved.timezone == SHANGHAI
        assert not saved.is_open(_utc(2026, 12, 1, 2))  # 10:00 local
        assert saved.next_opening(_utc(2026, 12, 1, 2)) == _utc(2026, 12, 1, 10)
        with pytest.raises(InvalidInput):
            await settings.set_reply_sla(session, actor=shop.owner, minutes=0)
        cleared = await settings.set_hours(session, actor=shop.owner, hours=None)
        assert cleared.hours is None and cleared.reply_sla == timedelta(minutes=30)
        actions = await session.scalars(select(AuditLog.action).order_by(AuditLog.id))
        assert actions.all() == [
            "inbox.hours",
            "inbox.reply_sla",
            "inbox.signature",
            "inbox.hours",
        ]
