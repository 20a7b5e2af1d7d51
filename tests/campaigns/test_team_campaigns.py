"""A team-limited admin's campaigns: they reach, count and list only their team's customers."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.campaigns import campaigns
from bot.campaigns.delivery import outbox
from bot.crm.models import (
    CampaignKind,
    CampaignStatus,
    Consent,
    Customer,
    Member,
    OutboxMessage,
    Role,
    Team,
)
from bot.crm.store import unit_of_work
from bot.errors import NotFound
from tests.factories import CAMPAIGN_NOW as NOW
from tests.factories import CampaignShop, make_campaign_shop

pytestmark = pytest.mark.timeout(60)


async def _north(
    session: AsyncSession, shop: CampaignShop
) -> tuple[Member, Customer, Customer, Customer]:
    """Put the admin and the rep in North; return the admin with an in-team, a pool and an
    outside customer (all opted in)."""
    team = Team(workspace_id=shop.workspace.id, name="North")
    session.add(team)
    await session.flush()
    shop.admin.team_id = shop.rep.team_id = team.id
    outsider = Member(
        workspace_id=shop.workspace.id,
        tg_user_id=shop.workspace.id * 100 + 9,
        chat_id=shop.workspace.id * 100 + 9,
        role=Role.STAFF,
        display_name="outsider",
        referral_code=f"ref{shop.workspace.id}-9",
    )
    session.add(outsider)
    await session.flush()
    mine, pool, outside, _ = shop.customers
    shop.customers[2].consent = Consent.OPTED_IN
    mine.owner_member_id = shop.rep.id
    outside.owner_member_id = outsider.id
    await session.flush()
    return shop.admin, mine, pool, outside


async def test_a_team_limited_admin_reaches_and_counts_only_their_team(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_campaign_shop(session)
        admin, mine, pool, outside = await _north(session, shop)
        assert await campaigns.reach(session, actor=shop.owner, audience={}) == 3
        assert await campaigns.reach(session, actor=admin, audience={}) == 2
        assert await campaigns.reach(session, actor=admin, audience={"team_id": 999}) == 2
        assert (
            await campaigns.reach(session, actor=admin, audience={"customer_ids": [outside.id]})
            == 0
        )

        campaign = await campaigns.create_campaign(
            session,
            actor=admin,
            name="North sale",
            kind=CampaignKind.BROADCAST,
            template_key="holiday",
            audience={"customer_ids": [mine.id, pool.id, outside.id]},
            now=NOW,
        )
        assert campaign.audience["team_id"] == admin.team_id
        assert campaign.status is CampaignStatus.DONE
        summary = await campaigns.get_campaign(
            session, actor=admin, campaign_id=campaign.id, now=NOW
        )
        assert summary.last_run is not None
        await outbox.materialise_batch(
            session, summary.last_run, campaign.audience, birthday=None, limit=100
        )
        sent_to = await session.scalars(
            select(OutboxMessage.customer_id).where(OutboxMessage.run_id == summary.last_run.id)
        )
        assert sorted(sent_to.all()) == sorted([mine.id, pool.id])
        # The owner sees the whole shop's count, yet the campaign stays limited to North.
        assert await campaigns.reach(session, actor=shop.owner, audience=campaign.audience) == 2


async def test_a_team_limited_admin_lists_and_controls_only_their_teams_campaigns(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_campaign_shop(session)
        admin, *_ = await _north(session, shop)
        common = {
            "kind": CampaignKind.WEEKLY,
            "template_key": "weekly_touchpoint",
            "audience": {},
            "weekday": 0,
            "now": NOW,
        }
        shop_wide = await campaigns.create_campaign(
            session,
            actor=shop.owner,
            name="Everyone",
            **common,  # type: ignore[arg-type]
        )
        north = await campaigns.create_campaign(
            session,
            actor=admin,
            name="North",
            **common,  # type: ignore[arg-type]
        )
        listed = await campaigns.list_campaigns(session, actor=admin, now=NOW)
        assert [s.campaign.id for s in listed] == [north.id]
        owners = await campaigns.list_campaigns(session, actor=shop.owner, now=NOW)
        assert [s.campaign.id for s in owners] == [north.id, shop_wide.id]
        with pytest.raises(NotFound):
            await campaigns.get_campaign(session, actor=admin, campaign_id=shop_wide.id, now=NOW)
        with pytest.raises(NotFound):
            await campaigns.set_status(
                session,
                actor=admin,
                campaign_id=shop_wide.id,
                status=CampaignStatus.STOPPED,
                now=NOW,
            )
        with pytest.raises(NotFound):
            await campaigns.run_now(session, actor=admin, campaign_id=shop_wide.id, now=NOW)
        assert shop_wide.status is CampaignStatus.ACTIVE
