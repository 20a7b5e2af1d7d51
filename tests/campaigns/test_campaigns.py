"""Campaign services on a real database: roles, tenancy, firing once, run now, pause and stop."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.campaigns import campaigns, limits
from bot.campaigns.delivery import outbox
from bot.crm.models import (
    AuditLog,
    Campaign,
    CampaignKind,
    CampaignRun,
    CampaignStatus,
    Consent,
    OutboxMessage,
    RunStatus,
)
from bot.crm.models.core import ValueTier
from bot.crm.store import unit_of_work
from bot.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from tests.factories import CAMPAIGN_NOW as NOW
from tests.factories import make_campaign_shop, weekly


async def test_create_checks_role_and_answers(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_campaign_shop(session)
        base = {
            "name": "Weekly",
            "kind": CampaignKind.WEEKLY,
            "template_key": "weekly_touchpoint",
            "audience": {},
            "weekday": 0,
            "now": NOW,
        }
        with pytest.raises(PermissionDenied):
            await campaigns.create_campaign(session, actor=shop.rep, **base)  # type: ignore[arg-type]
        bad = [
            {"name": " "},
            {"weekday": None},
            {"weekday": 7},
            {"send_time": "25:00"},
            {"template_key": "no_such_template"},
            {"kind": CampaignKind.HOLIDAY, "run_date": None},
        ]
        for change in bad:
            with pytest.raises(InvalidInput):
                await campaigns.create_campaign(
                    session,
                    actor=shop.admin,
                    **{**base, **change},  # type: ignore[arg-type]
                )
        cid = await weekly(session, shop, grades=["A", "A", " "], region=" ")
        summary = await campaigns.get_campaign(session, actor=shop.owner, campaign_id=cid, now=NOW)
        assert summary.campaign.audience == {"grades": ["A"]}
        assert summary.next_at == datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
        assert summary.last_run is None
        assert await campaigns.reach(session, actor=shop.admin, audience={"grades": ["A"]}) == 1
        actions = (await session.scalars(select(AuditLog.action))).all()
        assert "campaign.create" in actions


async def test_another_shop_cannot_see_or_touch_a_campaign(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_campaign_shop(session)
        other = await make_campaign_shop(session, "Other Shop")
        cid = await weekly(session, shop)
        with pytest.raises(NotFound):
            await campaigns.get_campaign(session, actor=other.owner, campaign_id=cid, now=NOW)
        with pytest.raises(NotFound):
            await campaigns.run_now(session, actor=other.admin, campaign_id=cid, now=NOW)
        with pytest.raises(NotFound):
            await campaigns.set_status(
                session, actor=other.admin, campaign_id=cid, status=CampaignStatus.STOPPED, now=NOW
            )
        assert await campaigns.list_campaigns(session, actor=other.owner, now=NOW) == []
        with pytest.raises(PermissionDenied):
            await campaigns.list_campaigns(session, actor=shop.rep, now=NOW)


async def test_fire_creates_one_run_per_occurrence(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_campaign_shop(session)
        cid = await weekly(session, shop)
        summary = await campaigns.get_campaign(session, actor=shop.admin, campaign_id=cid, now=NOW)
        first = await campaigns.fire(
            session, summary.campaign, occurrence="2026-W49", scheduled_for=NOW, now=NOW
        )
        again = await campaigns.fire(
            session, summary.campaign, occurrence="2026-W49", scheduled_for=NOW, now=NOW
        )
        assert first is not None
        assert again is None
        assert (first.status, first.template_key, first.materialised_at) == (
            RunStatus.RUNNING,
            "weekly_touchpoint",
            None,
        )
        assert first.created_by_member_id == shop.admin.id


async def test_run_now_fires_this_weeks_occurrence_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_campaign_shop(session)
        cid = await weekly(session, shop)
        run = await campaigns.run_now(session, actor=shop.admin, campaign_id=cid, now=NOW)
        assert run.occurrence == "2026-W49"
        with pytest.raises(Conflict):
            await campaigns.run_now(session, actor=shop.admin, campaign_id=cid, now=NOW)
        summary = await campaigns.get_campaign(session, actor=shop.admin, campaign_id=cid, now=NOW)
        assert summary.last_run is not None
        assert summary.last_run.id == run.id
        assert summary.last_counts is not None
        assert summary.last_counts["run_id"] == run.id


async def test_pause_resume_and_stop_carry_the_runs_along(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_campaign_shop(session)
        cid = await weekly(session, shop)
        run = await campaigns.run_now(session, actor=shop.admin, campaign_id=cid, now=NOW)
        with pytest.raises(PermissionDenied):
            await campaigns.set_status(
                session, actor=shop.rep, campaign_id=cid, status=CampaignStatus.PAUSED, now=NOW
            )
        paused = await campaigns.set_status(
            session, actor=shop.admin, campaign_id=cid, status=CampaignStatus.PAUSED, now=NOW
        )
        assert (paused.status, run.status) == (CampaignStatus.PAUSED, RunStatus.PAUSED)
        summary = await campaigns.get_campaign(session, actor=shop.admin, campaign_id=cid, now=NOW)
        assert summary.next_at is None
        with pytest.raises(Conflict):
            await campaigns.run_now(session, actor=shop.admin, campaign_id=cid, now=NOW)
        resumed = await campaigns.set_status(
            session, actor=shop.admin, campaign_id=cid, status=CampaignStatus.ACTIVE, now=NOW
        )
        assert (resumed.status, run.status) == (CampaignStatus.ACTIVE, RunStatus.RUNNING)
        stopped = await campaigns.set_status(
            session, actor=shop.owner, campaign_id=cid, status=CampaignStatus.STOPPED, now=NOW
        )
        assert (stopped.status, run.status) == (CampaignStatus.STOPPED, RunStatus.STOPPED)
        with pytest.raises(Conflict):
            await campaigns.set_status(
                session, actor=shop.owner, campaign_id=cid, status=CampaignStatus.ACTIVE, now=NOW
            )


async def test_broadcast_without_a_date_starts_at_once_and_is_done(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_campaign_shop(session)
        campaign = await campaigns.create_campaign(
            session,
            actor=shop.owner,
            name="Flash sale",
            kind=CampaignKind.BROADCAST,
            template_key="holiday",
            audience={},
            now=NOW,
        )
        runs = (await session.scalars(select(CampaignRun))).all()
        assert [(r.campaign_id, r.occurrence) for r in runs] == [(campaign.id, "once")]
        assert (campaign.status, campaign.last_fired_at) == (CampaignStatus.DONE, NOW)
        dated = await campaigns.create_campaign(
            session,
            actor=shop.owner,
            name="New year",
            kind=CampaignKind.HOLIDAY,
            template_key="holiday",
            audience={},
            run_date=date(2027, 1, 1),
            now=NOW,
        )
        assert dated.status is CampaignStatus.ACTIVE
        assert await session.scalar(select(func.count()).select_from(CampaignRun)) == 1


async def test_welcome_queues_each_customer_who_opts_in_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_campaign_shop(session)
        welcome = await campaigns.create_campaign(
            session,
            actor=shop.admin,
            name="Welcome",
            kind=CampaignKind.WELCOME,
            template_key="welcome",
            audience={"grades": ["A"]},
            now=NOW,
        )
        with pytest.raises(Conflict):
            await campaigns.create_campaign(
                session,
                actor=shop.admin,
                name="Second welcome",
                kind=CampaignKind.WELCOME,
                template_key="welcome",
                audience={},
                now=NOW,
            )
        run = await session.scalar(
            select(CampaignRun).where(CampaignRun.campaign_id == welcome.id)
        )
        assert run is not None
        assert run.occurrence == "welcome"
        newcomer, other_grade = shop.customers[2], shop.customers[3]
        for customer in (newcomer, other_grade):
            customer.consent = Consent.OPTED_IN
            await campaigns.on_opt_in(session, customer, now=NOW)
        await campaigns.on_opt_in(session, newcomer, now=NOW)
        rows = (await session.scalars(select(OutboxMessage.customer_id))).all()
        assert rows == [newcomer.id]


async def test_quiet_hours_and_cap_setters(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_campaign_shop(session)
        with pytest.raises(PermissionDenied):
            await limits.set_quiet_hours(session, actor=shop.rep, start="22:00", end="08:00")
        ws = await limits.set_quiet_hours(session, actor=shop.admin, start="22:00", end="8:00")
        assert (ws.quiet_start, ws.quiet_end) == ("22:00", "08:00")
        for start, end in (("22:00", "22:00"), ("22", "08:00"), ("late", "early")):
            with pytest.raises(InvalidInput):
                await limits.set_quiet_hours(session, actor=shop.admin, start=start, end=end)
        ws = await limits.set_quiet_hours(session, actor=shop.admin, start=None, end=None)
        assert ws.quiet_start == ws.quiet_end
        ws = await limits.set_cap(session, actor=shop.owner, messages=3, days=10)
        assert (ws.campaign_cap_messages, ws.campaign_cap_days) == (3, 10)
        for messages, days in ((0, 7), (2, 0), (51, 7), (2, 61)):
            with pytest.raises(InvalidInput):
                await limits.set_cap(session, actor=shop.owner, messages=messages, days=days)


async def test_queue_broadcast_for_the_operator(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_campaign_shop(session)
        run = await campaigns.queue_broadcast(
            session,
            workspace_id=shop.workspace.id,
            template_key="holiday",
            audience={"grades": ("A",), "tags": (), "stages": ()},
            now=NOW,
        )
        assert (run.occurrence, run.status, run.created_by_member_id) == (
            "once",
            RunStatus.RUNNING,
            None,
        )
        with pytest.raises(NotFound):
            await campaigns.queue_broadcast(
                session, workspace_id=shop.workspace.id, template_key="nope", audience={}, now=NOW
            )


def test_clean_audience_keeps_value_tiers_and_customer_ids() -> None:
    clean = campaigns.clean_audience(
        {"value_tiers": ["Low", "high", "gold", ""], "customer_ids": [7, "3", 7, "x", True]}
    )
    assert clean == {"value_tiers": ["high", "low"], "customer_ids": [3, 7]}
    assert campaigns.clean_audience({"value_tiers": [], "customer_ids": None}) == {}
    # An emptied list of customers still reaches nobody rather than everyone.
    assert campaigns.clean_audience({"customer_ids": ["x"]}) == {"customer_ids": []}


async def test_value_tier_and_customer_audiences(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_campaign_shop(session)
        first, second, third, _ = shop.customers
        third.consent = Consent.OPTED_IN
        first.value_tier, second.value_tier, third.value_tier = (
            ValueTier.HIGH,
            ValueTier.LOW,
            ValueTier.HIGH,
        )
        await session.flush()

        async def reach(**audience: object) -> int:
            return await campaigns.reach(session, actor=shop.admin, audience=audience)

        assert await reach(value_tiers=["high"]) == 2
        assert await reach(value_tiers=["high", "low"]) == 3
        assert await reach(value_tiers=["medium"]) == 0
        assert await reach(value_tiers=["high"], grades=["A"]) == 2
        assert await reach(customer_ids=[second.id]) == 1
        assert await reach(customer_ids=[shop.customers[3].id]) == 0  # not opted in
        assert await reach(customer_ids=[]) == 0
        rival = await make_campaign_shop(session, "Rival")
        rival.customers[0].value_tier = ValueTier.HIGH
        await session.flush()
        assert await reach(customer_ids=[rival.customers[0].id]) == 0
        assert await reach(value_tiers=["high"]) == 2


async def test_a_care_message_to_one_customer_goes_to_that_customer_only(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_campaign_shop(session)
        target = shop.customers[1]
        run = await campaigns.queue_broadcast(
            session,
            workspace_id=shop.workspace.id,
            template_key="holiday",
            audience={"customer_ids": [target.id]},
            now=NOW,
        )
        campaign = await session.get(Campaign, run.campaign_id)
        assert campaign is not None
        added = await outbox.materialise_batch(
            session, run, campaign.audience, birthday=None, limit=100
        )
        assert added == 1
        rows = await session.scalars(
            select(OutboxMessage.customer_id).where(OutboxMessage.run_id == run.id)
        )
        assert rows.all() == [target.id]


async def test_a_survey_is_a_one_off_like_a_broadcast(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_campaign_shop(session)
        now_run = await campaigns.create_campaign(
            session,
            actor=shop.owner,
            name="How did we do?",
            kind=CampaignKind.SURVEY,
            template_key="survey_invitation",
            audience={"value_tiers": ["high"]},
            now=NOW,
        )
        assert now_run.status is CampaignStatus.DONE
        assert now_run.audience == {"value_tiers": ["high"]}
        dated = await campaigns.create_campaign(
            session,
            actor=shop.owner,
            name="Year survey",
            kind=CampaignKind.SURVEY,
            template_key="survey_invitation",
            audience={},
            run_date=date(2026, 12, 20),
            now=NOW,
        )
        assert (dated.status, dated.run_date) == (CampaignStatus.ACTIVE, date(2026, 12, 20))
