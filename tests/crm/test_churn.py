"""Churn: quiet customers against their own usual interval, tier drops, one alert per episode."""

from __future__ import annotations

import math
import random
import statistics
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crm import churn, tiers
from bot.crm.churn import AtRisk
from bot.crm.models import Channel, Customer, FollowUp
from bot.crm.models.core import AtRiskReason
from bot.crm.store import unit_of_work
from tests.crm.test_tiers import NOW, buy, reload
from tests.factories import Shop, add_customer, make_shop

pytestmark = pytest.mark.timeout(60)


async def follow_up(session: AsyncSession, shop: Shop, customer: Customer, days: int) -> None:
    """Log a call with the customer ``days`` days before NOW (an hour earlier still)."""
    session.add(
        FollowUp(
            workspace_id=shop.workspace.id,
            customer_id=customer.id,
            member_id=shop.li.id,
            channel=Channel.CALL,
            summary="checked in",
            at=NOW - timedelta(days=days, hours=1),
        )
    )
    await session.flush()


async def test_quiet_for_twice_the_usual_interval(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        regular = await add_customer(session, shop, "Regular", shop.li)
        await buy(session, shop, regular, (100, 1), (90, 1), (80, 1), (70, 1))
        # Days 120, 118, 115 and 75: gaps 2, 3, 40, so usually every 3 days.
        mixed = await add_customer(session, shop, "Mixed", shop.chen)
        await buy(session, shop, mixed, (120, 1), (118, 1), (75, 1))
        await follow_up(session, shop, mixed, 115)
        # Gaps 2, 3, 4, 40: the median 3.5 is rounded up to 4.
        even = await add_customer(session, shop, "Even", None)
        await buy(session, shop, even, (129, 1), (127, 1), (124, 1), (120, 1), (80, 1))
        steady = await add_customer(session, shop, "Steady", shop.li)
        await buy(session, shop, steady, (300, 1), (200, 1), (100, 1))  # quiet 100 < 2 × 100
        daily = await add_customer(session, shop, "Daily", shop.li)
        await buy(session, shop, daily, (25, 1), (24, 1), (23, 1), (20, 1))  # quiet 20 < 30
        found = await churn.detect(session, shop.workspace.id, now=NOW)
        regular = await reload(session, regular)
    assert found == [
        AtRisk(regular.id, shop.li.id, AtRiskReason.QUIET, days_quiet=70, usual_days=10),
        AtRisk(mixed.id, shop.chen.id, AtRiskReason.QUIET, days_quiet=75, usual_days=3),
        AtRisk(even.id, None, AtRiskReason.QUIET, days_quiet=80, usual_days=4),
    ]
    assert (regular.at_risk_since, regular.at_risk_reason) == (NOW, AtRiskReason.QUIET)
    assert regular.usual_interval_days == 10 and regular.churn_alerted_at is None


async def test_too_little_history_is_never_quiet(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        once = await add_customer(session, shop, "Once", shop.li)
        await buy(session, shop, once, (400, 1))
        twice = await add_customer(session, shop, "Twice", shop.li)
        await buy(session, shop, twice, (400, 1), (390, 1))  # one gap; two are needed
        same_day = await add_customer(session, shop, "Same day", shop.li)
        await buy(session, shop, same_day, (300, 1), (300, 1), (300, 1), (290, 1))
        lead = await add_customer(session, shop, "Lead", shop.li)
        await follow_up(session, shop, lead, 300)
        await follow_up(session, shop, lead, 200)
        await follow_up(session, shop, lead, 100)  # followed up, but never bought
        assert await churn.detect(session, shop.workspace.id, now=NOW) == []
        once = await reload(session, once)
    assert once.at_risk_since is None and once.usual_interval_days is None


async def test_one_alert_per_episode_until_back_in_touch(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        regular = await add_customer(session, shop, "Regular", shop.li)
        await buy(session, shop, regular, (100, 1), (90, 1), (80, 1), (70, 1))
        ws = shop.workspace.id
        [first] = await churn.detect(session, ws, now=NOW)
        await churn.mark_alerted(session, ws, [first.customer_id], now=NOW)
        assert (await reload(session, regular)).churn_alerted_at == NOW
        assert await churn.detect(session, ws, now=NOW + timedelta(days=1)) == []

        await follow_up(session, shop, regular, -2)  # the rep calls two days later
        assert await churn.detect(session, ws, now=NOW + timedelta(days=3)) == []
        regular = await reload(session, regular)
        assert (regular.at_risk_since, regular.at_risk_reason) == (None, None)
        assert regular.churn_alerted_at is None

        # Quiet again for long: a new episode, with the call counted in the history.
        later = NOW + timedelta(days=60)
        assert await churn.detect(session, ws, now=later) == [
            AtRisk(regular.id, shop.li.id, AtRiskReason.QUIET, days_quiet=58, usual_days=10)
        ]


async def test_a_purchase_ends_the_episode(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        regular = await add_customer(session, shop, "Regular", shop.li)
        await buy(session, shop, regular, (100, 1), (90, 1), (80, 1), (70, 1))
        assert len(await churn.detect(session, shop.workspace.id, now=NOW)) == 1
        await buy(session, shop, regular, (-1, 5_000))
        assert await churn.detect(session, shop.workspace.id, now=NOW + timedelta(2)) == []
        assert (await reload(session, regular)).at_risk_since is None


async def test_a_tier_drop_flags_until_someone_gets_in_touch(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    later = NOW + timedelta(days=1)
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        ws = shop.workspace.id
        x = await add_customer(session, shop, "X", shop.li)
        y = await add_customer(session, shop, "Y", shop.chen)
        await buy(session, shop, x, (10, 10_000))
        await buy(session, shop, y, (10, 10_000))
        await tiers.recompute(session, ws, now=NOW)
        assert await churn.detect(session, ws, now=NOW) == []  # a first tier is no drop

        await buy(session, shop, y, (1, 90_000), (2, 90_000), (3, 90_000))
        await tiers.recompute(session, ws, now=later)  # X falls from medium to low, Y rises
        assert await churn.detect(session, ws, now=later) == [
            AtRisk(x.id, shop.li.id, AtRiskReason.TIER_DROP, days_quiet=11, usual_days=None)
        ]
        await follow_up(session, shop, x, -2)
        assert await churn.detect(session, ws, now=later + timedelta(days=2)) == []
        assert (await reload(session, x)).at_risk_since is None


async def test_usual_interval_is_the_median_gap_rounded_up(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    rng = random.Random(4)
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        history: dict[int, list[int]] = {}
        for i in range(25):
            customer = await add_customer(session, shop, f"C{i}", shop.li)
            days = [rng.randrange(40, 400, 3) for _ in range(rng.randint(2, 8))]
            await buy(session, shop, customer, *[(d, 100) for d in days[1:]])
            await follow_up(session, shop, customer, days[0])
            if len(days) > 2:
                await buy(session, shop, customer, (days[0], 100))  # same day as the call
            history[customer.id] = days
        found = {r.customer_id: r for r in await churn.detect(session, shop.workspace.id, now=NOW)}
        rows = await session.execute(
            select(Customer.id, Customer.usual_interval_days).where(
                Customer.workspace_id == shop.workspace.id
            )
        )
        usual = {cid: days for cid, days in rows}

    for cid, days in history.items():
        distinct = sorted(set(days))
        gaps = [b - a for a, b in zip(distinct, distinct[1:], strict=False)]
        expected = math.ceil(statistics.median(gaps)) if len(gaps) >= churn.MIN_GAPS else None
        assert usual[cid] == expected, (cid, distinct)
        quiet = distinct[0]
        is_quiet = expected is not None and quiet > churn.QUIET_FACTOR * expected
        assert (cid in found) is is_quiet, (cid, distinct)
        if is_quiet:
            assert (found[cid].days_quiet, found[cid].usual_days) == (quiet, expected)
    assert found  # the seed gives both outcomes
    assert len(found) < len(history)
