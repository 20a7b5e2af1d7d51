"""The nightly value tier job on an injected clock, what a recompute changed, and the spread."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crm import tier_jobs, tiers
from bot.crm.models import Customer, Purchase
from bot.crm.models.core import Segment, ValueTier
from bot.crm.store import unit_of_work
from tests.factories import Shop, add_customer, make_shop

SHANGHAI = ZoneInfo("Asia/Shanghai")
# 03:10 on 2 December in Shanghai; London is still at 19:10 the evening before.
NIGHT = datetime(2026, 12, 1, 19, 10, tzinfo=UTC)
LONG_AGO = datetime(2025, 1, 1, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def buy(session: AsyncSession, shop: Shop, customer: Customer, *amounts: int) -> None:
    """Record purchases of the given minor amounts, one a week before ``NIGHT``."""
    for week, minor in enumerate(amounts, start=1):
        session.add(
            Purchase(
                workspace_id=shop.workspace.id,
                customer_id=customer.id,
                amount_minor=minor,
                currency="CNY",
                at=NIGHT - timedelta(weeks=week),
            )
        )
    await session.flush()


async def seed(sessions: async_sessionmaker[AsyncSession]) -> tuple[Shop, Shop, list[int]]:
    """A Shanghai shop with five buyers, and a London shop with an old non-buyer."""
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        buyers = []
        for number in range(5):
            owner = shop.li if number < 2 else shop.chen
            customer = await add_customer(session, shop, f"buyer {number}", owner)
            await buy(session, shop, customer, *[1000 * (number + 1)] * (number + 1))
            buyers.append(customer.id)
        london = await make_shop(session, "London")
        london.workspace.timezone = "Europe/London"
        await add_customer(session, london, "window shopper", None, created_at=LONG_AGO)
    return shop, london, buyers


def test_due_only_in_the_night_window_and_when_stale() -> None:
    three = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)  # 03:00 in Shanghai
    assert tier_jobs.is_due(three, tz=SHANGHAI, last=None)
    assert not tier_jobs.is_due(three - timedelta(minutes=1), tz=SHANGHAI, last=None)
    assert tier_jobs.is_due(three + timedelta(hours=5, minutes=59), tz=SHANGHAI, last=None)
    assert not tier_jobs.is_due(three + timedelta(hours=6), tz=SHANGHAI, last=None)
    assert tier_jobs.is_due(three, tz=SHANGHAI, last=three - timedelta(hours=20))
    assert not tier_jobs.is_due(three, tz=SHANGHAI, last=three - timedelta(hours=19))


async def test_nightly_recomputes_each_shop_once_a_night_in_its_own_time(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    shop, london, buyers = await seed(sessions)
    clock = Clock(NIGHT - timedelta(minutes=15))  # 02:55 in Shanghai
    runs: dict[int, datetime] = {}
    assert await tier_jobs.recompute_due(sessions, clock, last_runs=runs) == []

    clock.now = NIGHT
    assert await tier_jobs.recompute_due(sessions, clock, last_runs=runs) == [shop.workspace.id]
    async with sessions() as session:
        rows = await session.execute(
            select(Customer.value_tier, Customer.tiers_computed_at).where(Customer.id.in_(buyers))
        )
        computed = rows.all()
    assert all(tier is not None and at == NIGHT for tier, at in computed)

    clock.now = NIGHT + timedelta(minutes=15)
    assert await tier_jobs.recompute_due(sessions, clock, last_runs=runs) == []

    # 03:30 in London: its shop is due; nobody there bought, so nothing is written,
    # and the next tick of the same night leaves it alone all the same.
    clock.now = datetime(2026, 12, 2, 3, 30, tzinfo=UTC)
    assert await tier_jobs.recompute_due(sessions, clock, last_runs=runs) == [london.workspace.id]
    clock.now += timedelta(minutes=15)
    assert await tier_jobs.recompute_due(sessions, clock, last_runs=runs) == []

    clock.now = NIGHT + timedelta(days=1)
    assert await tier_jobs.recompute_due(sessions, clock, last_runs=runs) == [shop.workspace.id]


async def test_a_manual_recompute_counts_as_the_nights_run(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    shop, _, _ = await seed(sessions)
    async with unit_of_work(sessions) as session:
        await tiers.recompute(session, shop.workspace.id, now=NIGHT - timedelta(hours=2))
    clock = Clock(NIGHT)
    assert await tier_jobs.recompute_due(sessions, clock, last_runs={}) == []


async def test_changes_count_first_tiers_then_moves(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    shop, _, buyers = await seed(sessions)
    async with unit_of_work(sessions) as session:
        await tiers.recompute(session, shop.workspace.id, now=NIGHT)
        first = await tier_jobs.changes(session, shop.workspace.id, now=NIGHT)
    assert (first.first, first.up, first.down, first.total) == (5, 0, 0, 5)

    later = NIGHT + timedelta(days=1)
    async with unit_of_work(sessions) as session:
        smallest = await session.get(Customer, buyers[0])
        assert smallest is not None
        assert smallest.value_tier is ValueTier.LOW
        await buy(session, shop, smallest, *[90_000] * 8)
        await tiers.recompute(session, shop.workspace.id, now=later)
        moved = await tier_jobs.changes(session, shop.workspace.id, now=later)
    assert moved.first == 0
    assert moved.up >= 1
    assert moved.down >= 1
    assert moved.total == moved.up + moved.down


async def test_distribution_follows_the_members_scope(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    shop, _, _ = await seed(sessions)
    async with unit_of_work(sessions) as session:
        before = await tier_jobs.distribution(session, actor=shop.owner)
        assert before.computed_at is None
        assert before.customers == 5
        await tiers.recompute(session, shop.workspace.id, now=NIGHT)
        everyone = await tier_jobs.distribution(session, actor=shop.owner)
        mine = await tier_jobs.distribution(session, actor=shop.li)
    assert everyone.whole_shop
    assert everyone.computed_at == NIGHT
    assert sum(everyone.tiers.values()) == 5
    assert everyone.tiers[ValueTier.HIGH] >= 1
    assert sum(everyone.segments.values()) == 5
    assert not mine.whole_shop
    assert mine.customers == 2
    assert sum(mine.tiers.values()) == 2
    assert mine.segments[Segment.NEW] == 0


async def test_the_scheduled_job_remembers_its_runs(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    shop, _, _ = await seed(sessions)
    tier_jobs.LAST_RUNS.pop(shop.workspace.id, None)
    try:
        await tier_jobs.nightly_tiers(sessions, Clock(NIGHT))
        assert tier_jobs.LAST_RUNS[shop.workspace.id] == NIGHT
    finally:
        tier_jobs.LAST_RUNS.pop(shop.workspace.id, None)
