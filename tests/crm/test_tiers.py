"""Value tiers: RFM scores with ties, segments, tiers, classes and CLV on hand-checked data."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crm import rfm, tiers
from bot.crm.models import Customer, Purchase
from bot.crm.models.core import Segment, ValueClass, ValueTier
from bot.crm.store import unit_of_work
from bot.errors import PermissionDenied
from tests.factories import Shop, add_customer, make_shop

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


async def buy(
    session: AsyncSession, shop: Shop, customer: Customer, *sales: tuple[int, int]
) -> None:
    """Record purchases of (days ago, minor units), an hour past the whole days."""
    for days, minor in sales:
        session.add(
            Purchase(
                workspace_id=shop.workspace.id,
                customer_id=customer.id,
                amount_minor=minor,
                currency="CNY",
                at=NOW - timedelta(days=days, hours=1),
            )
        )
    await session.flush()


async def reload(session: AsyncSession, customer: Customer) -> Customer:
    """Read a customer's row again as the database has it now."""
    result = await session.execute(
        select(Customer)
        .where(Customer.id == customer.id)
        .execution_options(populate_existing=True)
    )
    return result.scalar_one()


def test_score_is_the_quintile_of_the_middle_of_the_tie_group() -> None:
    assert [rfm.score(worse, 1, 5) for worse in range(5)] == [1, 2, 3, 4, 5]
    assert [rfm.score(worse, 1, 10) for worse in range(10)] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert rfm.score(0, 1, 1) == 3  # one buyer sits in the middle
    assert rfm.score(0, 7, 7) == 3  # everyone equal: everyone in the middle
    assert rfm.score(0, 6, 10) == 2  # a big group of the lowest value: its middle is at 30 %
    assert rfm.score(0, 8, 10) == 3  # ... and at 40 %
    assert rfm.score(8, 2, 10) == 5
    with pytest.raises(ValueError, match="bad ranks"):
        rfm.score(3, 3, 5)


def test_segment_grid() -> None:
    grid = {
        5: "PPLCC",
        4: "PPLCC",
        3: "PPLLL",
        2: "HHAAA",
        1: "XXAAA",
    }
    names = {
        "C": Segment.CHAMPIONS,
        "L": Segment.LOYAL,
        "P": Segment.POTENTIAL,
        "A": Segment.AT_RISK,
        "H": Segment.HIBERNATING,
        "X": Segment.LOST,
    }
    for recency, row in grid.items():
        for frequency, letter in enumerate(row, start=1):
            assert rfm.segment_for(recency, frequency) is names[letter], (recency, frequency)
    with pytest.raises(ValueError, match="out of range"):
        rfm.segment_for(0, 3)


def test_tiers_and_classes() -> None:
    assert rfm.tier_for(5, 3) is ValueTier.HIGH
    assert rfm.tier_for(4, 3) is ValueTier.MEDIUM
    assert rfm.tier_for(1, 4) is ValueTier.MEDIUM
    assert rfm.tier_for(2, 2) is ValueTier.LOW
    assert rfm.class_for(ValueTier.HIGH, 10) is ValueClass.VALUE
    assert rfm.class_for(ValueTier.MEDIUM, 365) is ValueClass.POTENTIAL
    assert rfm.class_for(ValueTier.HIGH, 366) is ValueClass.LAPSED
    assert rfm.class_for(ValueTier.HIGH, 100, lapse_days=90) is ValueClass.LAPSED


def test_expected_lifetime_and_its_fallback() -> None:
    assert rfm.expected_lifetime(0, 0) == rfm.Lifetime(3.0, None, fallback=True)
    assert rfm.expected_lifetime(19, 5) == rfm.Lifetime(3.0, 5 / 19, fallback=True)
    assert rfm.expected_lifetime(100, 0) == rfm.Lifetime(3.0, 0.0, fallback=True)
    assert rfm.expected_lifetime(100, 25) == rfm.Lifetime(4.0, 0.25, fallback=False)
    assert rfm.expected_lifetime(100, 5).years == 10.0  # 20 years, kept to the maximum
    half_year = rfm.expected_lifetime(100, 50, lapse_days=180)
    assert half_year.years == 1.0  # (180 / 365) / 0.5 ≈ 0.99, kept to the minimum


def test_clv_is_spend_per_year_times_lifetime() -> None:
    assert rfm.clv(120_000, 730, 3.0) == 180_000
    assert rfm.clv(120_000, 10, 3.0) == 360_000  # counted over at least one year
    assert rfm.clv(40_000, 400, 3.0) == 109_500


async def test_recompute_hand_checked(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        a, b, c, d, e = [await add_customer(session, shop, n, shop.li) for n in "ABCDE"]
        await buy(session, shop, a, (2, 50_000), (30, 50_000), (60, 50_000), (90, 50_000))
        await buy(session, shop, b, (10, 10_000), (40, 10_000), (70, 10_000))
        await buy(session, shop, c, (10, 20_000), (400, 20_000))
        await buy(session, shop, d, (200, 5_000))  # a single purchase
        await buy(session, shop, e, (500, 30_000))  # same total as B, long ago
        fresh = await add_customer(session, shop, "F", shop.li, created_at=NOW - timedelta(3))
        old = await add_customer(session, shop, "G", None, created_at=NOW - timedelta(100))
        other = await make_shop(session, "Other")
        outsider = await add_customer(session, other, "O", other.li)
        await buy(session, other, outsider, (1, 9_999_999))

        summary = await tiers.recompute(session, shop.workspace.id, now=NOW)

        # Recency days 2, 10, 10, 200, 500; frequency 4, 3, 2, 1, 1;
        # monetary 200,000, 30,000, 40,000, 5,000, 30,000 (B and E tie, C and B do on days).
        expected = {
            a.id: (5, 5, 5, Segment.CHAMPIONS, ValueTier.HIGH, ValueClass.VALUE, 600_000),
            b.id: (4, 4, 3, Segment.CHAMPIONS, ValueTier.MEDIUM, ValueClass.POTENTIAL, 90_000),
            c.id: (4, 3, 4, Segment.LOYAL, ValueTier.MEDIUM, ValueClass.POTENTIAL, 109_500),
            d.id: (2, 2, 1, Segment.HIBERNATING, ValueTier.LOW, ValueClass.POTENTIAL, 15_000),
            e.id: (1, 2, 3, Segment.LOST, ValueTier.MEDIUM, ValueClass.LAPSED, 65_700),
        }
        for customer in (a, b, c, d, e):
            row = await reload(session, customer)
            got = (
                row.rfm_recency,
                row.rfm_frequency,
                row.rfm_monetary,
                row.rfm_segment,
                row.value_tier,
                row.value_class,
                row.clv_minor,
            )
            assert got == expected[customer.id], row.name
            assert row.tiers_computed_at == NOW
        fresh, old, outsider = [await reload(session, x) for x in (fresh, old, outsider)]
        assert (fresh.rfm_segment, fresh.value_tier, fresh.rfm_recency) == (
            Segment.NEW,
            None,
            None,
        )
        assert (old.rfm_segment, old.value_tier, old.clv_minor) == (None, None, None)
        assert outsider.rfm_segment is None and outsider.tiers_computed_at is None

    assert summary.buyers == 5
    assert summary.segments == {
        "champions": 2,
        "loyal": 1,
        "hibernating": 1,
        "lost": 1,
        "new": 1,
    }
    assert summary.tiers == {"high": 1, "medium": 3, "low": 1}
    assert summary.classes == {"value": 1, "potential": 3, "lapsed": 1}
    assert (summary.churn_rate, summary.lifetime_years) == (0.2, 3.0)
    assert summary.lifetime_fallback  # five buyers are too few to trust a churn rate


async def test_workspace_without_purchases(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        lead = await add_customer(session, shop, "Lead", shop.li, created_at=NOW - timedelta(1))
        summary = await tiers.recompute(session, shop.workspace.id, now=NOW)
        lead = await reload(session, lead)
    assert (summary.buyers, summary.tiers, summary.classes) == (0, {}, {})
    assert summary.segments == {"new": 1}
    assert (summary.churn_rate, summary.lifetime_years, summary.lifetime_fallback) == (
        None,
        3.0,
        True,
    )
    assert (lead.rfm_segment, lead.value_tier, lead.clv_minor) == (Segment.NEW, None, None)


async def test_a_single_buyer_sits_in_the_middle(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        only = await add_customer(session, shop, "Only", shop.li)
        await buy(session, shop, only, (5, 12_800))
        await tiers.recompute(session, shop.workspace.id, now=NOW)
        only = await reload(session, only)
    assert (only.rfm_recency, only.rfm_frequency, only.rfm_monetary) == (3, 3, 3)
    assert (only.rfm_segment, only.value_tier, only.value_class) == (
        Segment.LOYAL,
        ValueTier.MEDIUM,
        ValueClass.POTENTIAL,
    )
    assert only.clv_minor == 12_800 * 3


async def test_clv_uses_the_workspace_churn_rate(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        buyers = [await add_customer(session, shop, f"B{i}", shop.li) for i in range(20)]
        for i, customer in enumerate(buyers):
            await buy(session, shop, customer, (400 if i < 5 else 20, 10_000))
        summary = await tiers.recompute(session, shop.workspace.id, now=NOW)
        lapsed, recent = await reload(session, buyers[0]), await reload(session, buyers[-1])
    # 5 of 20 buyers lapsed: a churn rate of 25 % a year, so four years of lifetime.
    assert (summary.churn_rate, summary.lifetime_years, summary.lifetime_fallback) == (
        0.25,
        4.0,
        False,
    )
    assert recent.clv_minor == 40_000
    assert lapsed.clv_minor == 36_500  # 10,000 over 400 days is 9,125 a year
    assert lapsed.value_class is ValueClass.LAPSED


async def test_tier_changes_are_remembered(sessions: async_sessionmaker[AsyncSession]) -> None:
    later = NOW + timedelta(days=1)
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        x = await add_customer(session, shop, "X", shop.li)
        y = await add_customer(session, shop, "Y", shop.li)
        gone = await add_customer(session, shop, "Gone", shop.li, created_at=NOW - timedelta(99))
        for customer in (x, y, gone):
            await buy(session, shop, customer, (10, 10_000))
        await tiers.recompute(session, shop.workspace.id, now=NOW)
        x = await reload(session, x)
        assert (x.value_tier, x.previous_value_tier, x.value_tier_changed_at) == (
            ValueTier.MEDIUM,
            None,
            NOW,
        )
        await buy(session, shop, y, (1, 90_000), (2, 90_000), (3, 90_000))
        await session.execute(delete(Purchase).where(Purchase.customer_id == gone.id))
        await tiers.recompute(session, shop.workspace.id, now=later)
        x, y, gone = [await reload(session, c) for c in (x, y, gone)]
    assert (x.value_tier, x.previous_value_tier, x.value_tier_changed_at) == (
        ValueTier.LOW,
        ValueTier.MEDIUM,
        later,
    )
    assert (y.value_tier, y.previous_value_tier) == (ValueTier.HIGH, ValueTier.MEDIUM)
    assert (gone.rfm_recency, gone.rfm_segment, gone.value_tier, gone.clv_minor) == (
        None,
        None,
        None,
        None,
    )


async def test_recompute_on_demand_is_for_owners_and_admins(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        with pytest.raises(PermissionDenied):
            await tiers.recompute_for(session, actor=shop.li, now=NOW)
        summary = await tiers.recompute_for(session, actor=shop.admin, now=NOW)
    assert summary.buyers == 0


async def test_sql_agrees_with_the_python_rules_on_random_data(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    rng = random.Random(6)
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        sales: dict[int, list[tuple[int, int]]] = {}
        for i in range(60):
            customer = await add_customer(
                session, shop, f"C{i}", shop.li, created_at=NOW - timedelta(days=90)
            )
            # Few distinct days and amounts, so ties are common on every axis.
            bought = [
                (rng.choice(range(0, 800, 40)), rng.choice((1_000, 2_500, 12_800)))
                for _ in range(rng.choice((0, 1, 1, 2, 3, 5)))
            ]
            await buy(session, shop, customer, *bought)
            sales[customer.id] = bought
        summary = await tiers.recompute(session, shop.workspace.id, now=NOW)
        rows = (
            await session.execute(
                select(Customer)
                .where(Customer.workspace_id == shop.workspace.id)
                .execution_options(populate_existing=True)
            )
        ).scalars()
        got = {
            row.id: (
                row.rfm_recency,
                row.rfm_frequency,
                row.rfm_monetary,
                row.rfm_segment,
                row.value_tier,
                row.value_class,
                row.clv_minor,
            )
            for row in rows
        }

    facts = {
        cid: (min(d for d, _ in s), len(s), sum(m for _, m in s), max(d for d, _ in s))
        for cid, s in sales.items()
        if s
    }
    n = len(facts)
    lifetime = rfm.expected_lifetime(n, sum(1 for f in facts.values() if f[0] > rfm.LAPSE_DAYS))
    assert not lifetime.fallback and summary.lifetime_years == lifetime.years

    def rank(value: int, values: list[int], *, lower_is_better: bool = False) -> int:
        worse = sum(1 for v in values if (v > value if lower_is_better else v < value))
        return rfm.score(worse, values.count(value), len(values))

    recencies, counts, totals = (
        [f[0] for f in facts.values()],
        [f[1] for f in facts.values()],
        [f[2] for f in facts.values()],
    )
    for cid, (days, count, total, first) in facts.items():
        r = rank(days, recencies, lower_is_better=True)
        f, m = rank(count, counts), rank(total, totals)
        tier = rfm.tier_for(f, m)
        expected = (
            r,
            f,
            m,
            rfm.segment_for(r, f),
            tier,
            rfm.class_for(tier, days),
            rfm.clv(total, first, lifetime.years),
        )
        assert got.pop(cid) == expected, cid
    assert set(got.values()) == {(None,) * 7}  # the non-buyers
