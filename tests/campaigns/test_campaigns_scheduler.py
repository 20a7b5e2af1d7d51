"""The campaign scheduler's firing decisions with an injected clock: on time, late, too late."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.campaigns import campaigns, schedules
from bot.campaigns.scheduler import CampaignScheduler
from bot.campaigns.schedules import Verdict
from bot.crm.models import Campaign, CampaignKind, CampaignRun, CampaignStatus, Member, Role, Team
from bot.crm.store import unit_of_work
from tests.factories import CAMPAIGN_NOW as NOW
from tests.factories import CampaignShop, make_campaign_shop, weekly
from tests.fakes import RecordingMessenger

MONDAY_TEN = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
GRACE = timedelta(hours=6)
SHANGHAI = ZoneInfo("Asia/Shanghai")


class Clock:
    """A settable clock."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def planner(
    sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> tuple[CampaignScheduler, RecordingMessenger, list[int]]:
    messenger = RecordingMessenger()
    wakes: list[int] = []
    scheduler = CampaignScheduler(
        sessions, messenger, clock=clock, grace=GRACE, wake=lambda: wakes.append(1)
    )
    return scheduler, messenger, wakes


async def setup(sessions: async_sessionmaker[AsyncSession]) -> tuple[CampaignShop, int]:
    async with unit_of_work(sessions) as session:
        shop = await make_campaign_shop(session)
        return shop, await weekly(session, shop)


async def runs(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[str, datetime]]:
    async with sessions() as session:
        found = await session.execute(
            select(CampaignRun.occurrence, CampaignRun.scheduled_for).order_by(CampaignRun.id)
        )
        return [(o, s) for o, s in found.all()]


async def test_an_occurrence_fires_once_on_time(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    _, cid = await setup(sessions)
    clock = Clock(MONDAY_TEN - timedelta(minutes=1))
    scheduler, _, wakes = planner(sessions, clock)
    assert await scheduler.check(cid) is None
    clock.now = MONDAY_TEN + timedelta(seconds=2)
    checked = await scheduler.check(cid)
    assert checked is not None
    assert (checked.occurrence.key, checked.verdict) == ("2026-W49", Verdict.FIRE)
    assert checked.run_id is not None
    assert await scheduler.check(cid) is None
    assert await runs(sessions) == [("2026-W49", MONDAY_TEN)]
    assert wakes == [1]


async def test_a_few_hours_late_it_still_fires_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    _, cid = await setup(sessions)
    clock = Clock(MONDAY_TEN + timedelta(hours=5))
    scheduler, messenger, _ = planner(sessions, clock)
    checked = await scheduler.check(cid)
    assert checked is not None
    assert checked.verdict is Verdict.FIRE
    assert await runs(sessions) == [("2026-W49", MONDAY_TEN)]
    assert messenger.texts == []


async def test_days_late_it_is_skipped_and_reported_to_owner_and_admins(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    shop, cid = await setup(sessions)
    clock = Clock(MONDAY_TEN + timedelta(days=2))
    scheduler, messenger, wakes = planner(sessions, clock)
    checked = await scheduler.check(cid)
    assert checked is not None
    assert checked.verdict is Verdict.SKIP
    assert await runs(sessions) == []
    assert wakes == []
    assert sorted(chat for chat, _ in messenger.texts) == sorted(
        [shop.owner.chat_id, shop.admin.chat_id]
    )
    text = messenger.texts[0][1]
    assert "Weekly hello" in text
    assert "2026-11-30 10:00" in text
    assert "Next send: 2026-12-07 10:00" in text
    async with sessions() as session:
        campaign = await session.get(Campaign, cid)
        assert campaign is not None
        assert campaign.last_fired_at == MONDAY_TEN
    assert await scheduler.check(cid) is None


@pytest.mark.parametrize("for_north", [False, True])
async def test_a_team_limited_admin_hears_of_a_skipped_send_only_for_their_team(
    sessions: async_sessionmaker[AsyncSession], for_north: bool
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_campaign_shop(session)
        north = Team(workspace_id=shop.workspace.id, name="North")
        session.add(north)
        await session.flush()
        limited = Member(
            workspace_id=shop.workspace.id,
            tg_user_id=shop.workspace.id * 100 + 9,
            chat_id=shop.workspace.id * 100 + 9,
            role=Role.ADMIN,
            team_id=north.id,
            display_name="north admin",
            referral_code=f"ref{shop.workspace.id}-9",
        )
        session.add(limited)
        await session.flush()
        audience = {"team_id": north.id} if for_north else {}
        cid = await weekly(session, shop, **audience)
    scheduler, messenger, _ = planner(sessions, Clock(MONDAY_TEN + timedelta(days=2)))
    checked = await scheduler.check(cid)
    assert checked is not None and checked.verdict is Verdict.SKIP
    told = sorted(chat for chat, _ in messenger.texts)
    everyone = [shop.owner.chat_id, shop.admin.chat_id]
    assert told == sorted([*everyone, limited.chat_id] if for_north else everyone)


async def test_run_now_before_the_scheduled_time_means_it_does_not_send_again(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    shop, cid = await setup(sessions)
    async with unit_of_work(sessions) as session:
        await campaigns.run_now(session, actor=shop.admin, campaign_id=cid, now=NOW)
    scheduler, _, wakes = planner(sessions, Clock(MONDAY_TEN + timedelta(seconds=1)))
    checked = await scheduler.check(cid)
    assert checked is not None
    assert checked.run_id is None
    assert [o for o, _ in await runs(sessions)] == ["2026-W49"]
    assert wakes == []


async def test_a_holiday_fires_once_then_the_campaign_is_done(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_campaign_shop(session)
        holiday = await campaigns.create_campaign(
            session,
            actor=shop.owner,
            name="Winter solstice",
            kind=CampaignKind.HOLIDAY,
            template_key="holiday",
            audience={},
            run_date=MONDAY_TEN.date(),
            send_time="10:00",
            now=NOW,
        )
    scheduler, _, _ = planner(sessions, Clock(MONDAY_TEN))
    checked = await scheduler.check(holiday.id)
    assert checked is not None
    assert checked.verdict is Verdict.FIRE
    async with sessions() as session:
        campaign = await session.get(Campaign, holiday.id)
        assert campaign is not None
        assert campaign.status is CampaignStatus.DONE
    assert await scheduler.check(holiday.id) is None
    assert await runs(sessions) == [("once", MONDAY_TEN)]


async def test_jobs_are_derived_from_the_rows(sessions: async_sessionmaker[AsyncSession]) -> None:
    # APScheduler waits in real time, so this test's clock is the real one.
    now = datetime.now(UTC)
    async with unit_of_work(sessions) as session:
        shop = await make_campaign_shop(session)
        created = await campaigns.create_campaign(
            session,
            actor=shop.admin,
            name="Weekly hello",
            kind=CampaignKind.WEEKLY,
            template_key="weekly_touchpoint",
            audience={},
            weekday=0,
            now=now,
        )
        cid = created.id
    scheduler, _, _ = planner(sessions, Clock(now))
    await scheduler.start()
    try:
        async with sessions() as session:
            campaign = await session.get(Campaign, cid)
            assert campaign is not None
            upcoming = schedules.next_occurrence(campaign, now=now, tz=SHANGHAI)
        assert upcoming is not None
        assert scheduler.planned() == {f"campaign:{cid}": upcoming.at}
        async with unit_of_work(sessions) as session:
            await campaigns.set_status(
                session, actor=shop.admin, campaign_id=cid, status=CampaignStatus.PAUSED, now=NOW
            )
        await scheduler.refresh(cid)
        assert scheduler.planned() == {}
    finally:
        scheduler.shutdown()


async def test_an_occurrence_missed_while_paused_is_not_sent_on_resume(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    shop, cid = await setup(sessions)
    later = MONDAY_TEN + timedelta(hours=1)
    async with unit_of_work(sessions) as session:
        await campaigns.set_status(
            session, actor=shop.admin, campaign_id=cid, status=CampaignStatus.PAUSED, now=NOW
        )
    scheduler, messenger, _ = planner(sessions, Clock(later))
    assert await scheduler.check(cid) is None
    async with unit_of_work(sessions) as session:
        await campaigns.set_status(
            session, actor=shop.admin, campaign_id=cid, status=CampaignStatus.ACTIVE, now=later
        )
    assert await scheduler.check(cid) is None
    assert await runs(sessions) == []
    assert messenger.texts == []
