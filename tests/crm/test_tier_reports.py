"""What a value tier recompute changed, and how a member's customers spread over tiers."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crm import tier_reports, tiers
from bot.crm.models import Customer
from bot.crm.models.core import Segment, ValueTier
from bot.crm.store import unit_of_work
from tests.factories import TIER_NIGHT as NIGHT
from tests.factories import buy, make_tier_shops


async def test_changes_count_first_tiers_then_moves(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop, _, buyers = await make_tier_shops(session)
        await tiers.recompute(session, shop.workspace.id, now=NIGHT)
        first = await tier_reports.changes(session, shop.workspace.id, now=NIGHT)
    assert (first.first, first.up, first.down, first.total) == (5, 0, 0, 5)

    later = NIGHT + timedelta(days=1)
    async with unit_of_work(sessions) as session:
        smallest = await session.get(Customer, buyers[0])
        assert smallest is not None
        assert smallest.value_tier is ValueTier.LOW
        await buy(session, shop, smallest, *[90_000] * 8)
        await tiers.recompute(session, shop.workspace.id, now=later)
        moved = await tier_reports.changes(session, shop.workspace.id, now=later)
    assert moved.first == 0
    assert moved.up >= 1
    assert moved.down >= 1
    assert moved.total == moved.up + moved.down


async def test_distribution_follows_the_members_scope(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop, _, _ = await make_tier_shops(session)
        before = await tier_reports.distribution(session, actor=shop.owner)
        assert before.computed_at is None
        assert before.customers == 5
        await tiers.recompute(session, shop.workspace.id, now=NIGHT)
        everyone = await tier_reports.distribution(session, actor=shop.owner)
        mine = await tier_reports.distribution(session, actor=shop.li)
        assert await tier_reports.last_computed(session, shop.workspace.id) == NIGHT
    assert everyone.whole_shop
    assert everyone.computed_at == NIGHT
    assert sum(everyone.tiers.values()) == 5
    assert everyone.tiers[ValueTier.HIGH] >= 1
    assert sum(everyone.segments.values()) == 5
    assert not mine.whole_shop
    assert mine.customers == 2
    assert sum(mine.tiers.values()) == 2
    assert mine.segments[Segment.NEW] == 0
