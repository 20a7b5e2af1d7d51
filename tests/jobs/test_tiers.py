"""The nightly value tier job on an injected clock: each shop once a night, in its own time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crm import tiers
from bot.crm.models import Customer
from bot.crm.store import unit_of_work
from bot.jobs import tiers as tier_job
from bot.localtime import zone
from tests.factories import TIER_NIGHT as NIGHT
from tests.factories import Shop, make_tier_shops

SHANGHAI = zone("Asia/Shanghai")


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def seed(sessions: async_sessionmaker[AsyncSession]) -> tuple[Shop, Shop, list[int]]:
    async with unit_of_work(sessions) as session:
        return await make_tier_shops(session)


def test_due_only_in_the_night_window_and_when_stale() -> None:
    three = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)  # 03:00 in Shanghai
    assert tier_job.is_due(three, tz=SHANGHAI, last=None)
    assert not tier_job.is_due(three - timedelta(minutes=1), tz=SHANGHAI, last=None)
    assert tier_job.is_due(three + timedelta(hours=5, minutes=59), tz=SHANGHAI, last=None)
    assert not tier_job.is_due(three + timedelta(hours=6), tz=SHANGHAI, last=None)
    assert tier_job.is_due(three, tz=SHANGHAI, last=three - timedelta(hours=20))
    assert not tier_job.is_due(three, tz=SHANGHAI, last=three - timedelta(hours=19))


async def test_nightly_recomputes_each_shop_once_a_night_in_its_own_time(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    shop, london, buyers = await seed(sessions)
    clock = Clock(NIGHT - timedelta(minutes=15))  # 02:55 in Shanghai
    runs: dict[int, datetime] = {}
    assert await tier_job.recompute_due(sessions, clock, last_runs=runs) == []

    clock.now = NIGHT
    assert await tier_job.recompute_due(sessions, clock, last_runs=runs) == [shop.workspace.id]
    async with sessions() as session:
        rows = await session.execute(
            select(Customer.value_tier, Customer.tiers_computed_at).where(Customer.id.in_(buyers))
        )
        computed = rows.all()
    assert all(tier is not None and at == NIGHT for tier, at in computed)

    clock.now = NIGHT + timedelta(minutes=15)
    assert await tier_job.recompute_due(sessions, clock, last_runs=runs) == []

    # 03:30 in London: its shop is due; nobody there bought, so nothing is written,
    # and the next tick of the same night leaves it alone all the same.
    clock.now = datetime(2026, 12, 2, 3, 30, tzinfo=UTC)
    assert await tier_job.recompute_due(sessions, clock, last_runs=runs) == [london.workspace.id]
    clock.now += timedelta(minutes=15)
    assert await tier_job.recompute_due(sessions, clock, last_runs=runs) == []

    clock.now = NIGHT + timedelta(days=1)
    assert await tier_job.recompute_due(sessions, clock, last_runs=runs) == [shop.workspace.id]


async def test_a_manual_recompute_counts_as_the_nights_run(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    shop, _, _ = await seed(sessions)
    async with unit_of_work(sessions) as session:
        await tiers.recompute(session, shop.workspace.id, now=NIGHT - timedelta(hours=2))
    assert await tier_job.recompute_due(sessions, Clock(NIGHT), last_runs={}) == []


async def test_the_scheduled_job_remembers_its_runs_in_the_callers_record(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    shop, _, _ = await seed(sessions)
    last_runs: dict[int, datetime] = {}
    await tier_job.nightly_tiers(sessions, Clock(NIGHT), last_runs=last_runs)
    assert last_runs == {shop.workspace.id: NIGHT}
