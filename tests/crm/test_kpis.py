"""KPIs on a small, hand-checked shop: every figure, scope by role, and the chart series."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crm import kpi_series, kpis
from bot.crm.kpi_scope import Period
from bot.crm.kpi_series import FunnelWeek, RepFollowUps
from bot.crm.kpis import Ratio
from bot.crm.models import (
    Campaign,
    CampaignKind,
    CampaignRun,
    Channel,
    ConsentAction,
    ConsentEvent,
    Customer,
    CustomerKind,
    FollowUp,
    MarketingSpend,
    OutboxMessage,
    OutboxStatus,
    Purchase,
    Reminder,
    SurveyAnswer,
    Team,
)
from bot.crm.models.core import ValueTier
from bot.crm.store import unit_of_work
from tests.factories import Shop, add_customer, make_shop

# A Monday; the shop is in Asia/Shanghai, so "this month" starts 2026-10-31 16:00 UTC.
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def at(month: int, day: int) -> datetime:
    """Return noon UTC on a day of 2026."""
    return datetime(2026, month, day, 12, 0, tzinfo=UTC)


@dataclass
class Data:
    """The shop and its customers by letter."""

    shop: Shop
    people: dict[str, Customer]


WON: dict[str, object] = {"kind": CustomerKind.CUSTOMER}
# Letter, owner (a Shop field or None for the pool), created, other fields.
CUSTOMERS: list[tuple[str, str | None, datetime, dict[str, object]]] = [
    ("A", "li", at(11, 5), WON),
    ("B", "li", at(11, 6), {"stage": "contacted", "last_contact_at": at(11, 8)}),
    ("C", "chen", at(11, 7), {}),
    ("D", "li", at(6, 1), WON),
    ("E", "chen", at(5, 1), WON),
    ("F", "chen", at(10, 1), {"last_contact_at": at(11, 20)}),
    ("G", None, at(11, 2), {}),
]


async def build(session: AsyncSession) -> Data:
    """Create the shop described in the module's tests (figures checked by hand)."""
    shop = await make_shop(session)
    c = {}
    for letter, owner, created, fields in CUSTOMERS:
        member = getattr(shop, owner) if owner else None
        c[letter] = await add_customer(session, shop, letter, member, created_at=created, **fields)
    ws, li, chen = shop.workspace.id, shop.li, shop.chen
    session.add_all(
        Purchase(workspace_id=ws, customer_id=c[who].id, amount_minor=n, currency="CNY", at=when)
        for who, n, when in [
            ("A", 10000, at(11, 10)),
            ("D", 5000, at(6, 10)),
            ("D", 15000, at(11, 15)),
            ("E", 20000, at(5, 5)),
        ]
    )
    session.add_all(
        FollowUp(
            workspace_id=ws,
            customer_id=c[who].id,
            member_id=member.id,
            channel=Channel.CALL,
            summary="call",
            at=when,
        )
        for who, member, when in [
            ("B", li, at(11, 8)),
            ("D", li, at(10, 1)),
            ("F", chen, at(11, 20)),
        ]
    )
    session.add_all(
        Reminder(workspace_id=ws, member_id=member.id, text="call", due_at=when)
        for member, when in [
            (li, at(11, 9)),
            (li, at(11, 25)),
            (chen, at(11, 21)),
            (chen, at(11, 22)),
        ]
    )
    session.add_all(
        MarketingSpend(workspace_id=ws, amount_minor=n, currency=currency, spent_on=day)
        for day, n, currency in [
            (date(2026, 11, 3), 30000, "CNY"),
            (date(2026, 10, 30), 10000, "CNY"),
            (date(2026, 11, 4), 5000, "USD"),
        ]
    )
    session.add_all(
        SurveyAnswer(workspace_id=ws, customer_id=c[who].id, score=score, at=when)
        for who, score, when in [
            ("A", 5, at(11, 12)),
            ("D", 4, at(11, 16)),
            ("E", 1, at(11, 18)),
            ("F", 3, at(10, 20)),
        ]
    )
    campaign = Campaign(workspace_id=ws, name="Hi", kind=CampaignKind.BROADCAST, template_key="hi")
    session.add(campaign)
    await session.flush()
    run = CampaignRun(
        workspace_id=ws, campaign_id=campaign.id, occurrence="once", template_key="hi"
    )
    session.add(run)
    await session.flush()
    session.add_all(
        OutboxMessage(
            workspace_id=ws,
            run_id=run.id,
            customer_id=c[who].id,
            status=status,
            sent_at=when if status is OutboxStatus.SENT else None,
            updated_at=when,
        )
        for who, status, when in [
            ("A", OutboxStatus.SENT, at(11, 10)),
            ("D", OutboxStatus.FAILED, at(11, 10)),
            ("E", OutboxStatus.BLOCKED, at(11, 11)),
            ("F", OutboxStatus.PENDING, None),
            ("B", OutboxStatus.SENT, at(10, 1)),
        ]
    )
    session.add_all(
        ConsentEvent(
            workspace_id=ws,
            customer_id=c[who].id,
            action=ConsentAction.OPT_OUT,
            source=source,
            at=at(11, 11),
        )
        for who, source in [("A", "campaign_button"), ("D", "command")]
    )
    await session.flush()
    return Data(shop, c)


def test_ratio_is_none_without_a_whole() -> None:
    assert Ratio(1, 3).value == pytest.approx(1 / 3)
    assert Ratio(0, 0).value is None


async def test_shop_figures_for_the_owner(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with unit_of_work(sessions) as session:
        data = await build(session)
        k = await kpis.compute_kpis(session, actor=data.shop.owner, period=Period.MONTH, now=NOW)
    assert k.whole_shop and k.currency == "CNY"
    # New leads A, B, C, G; A has become a customer.
    assert (k.new_leads, k.conversion) == (4, Ratio(1, 4))
    # Buyers A, D, E; only D bought twice.
    assert k.repurchase == Ratio(1, 3)
    # D and E bought before November; E's last purchase (May) is over 90 days old.
    assert k.churn == Ratio(1, 2)
    # A and D bought, B and F were contacted in November.
    assert k.active == 4
    # A's first purchase is in November; November's CNY spend is 300.00.
    assert (k.new_customers, k.spend_minor, k.cac_minor) == (1, 30000, 30000)
    # No CLV computed yet: 500.00 over 3 buyers, under a year of history → × 1 year × 3.
    assert (k.cltv_minor, k.cltv_estimated) == (50000, True)
    assert k.satisfaction == (1, 0, 0, 1, 1)
    assert k.satisfaction_average == pytest.approx(10 / 3)
    # Chen: F's follow-up, two reminders due; Li: B's follow-up, one due (25th is later).
    assert k.reps == (
        RepFollowUps(data.shop.chen.id, "Chen", 1, 2),
        RepFollowUps(data.shop.li.id, "Li", 1, 1),
        RepFollowUps(data.shop.owner.id, "Wang", 0, 0),
    )
    # A sent, D failed, E blocked; F is still pending and B's was in October.
    assert k.delivery == Ratio(1, 3)
    # A opted out with the button; D's opt-out came another way.
    assert k.opt_out == Ratio(1, 1)


async def test_computed_clv_wins_over_the_estimate(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        data = await build(session)
        data.people["A"].clv_minor = 30000
        data.people["D"].clv_minor = 60000
        await session.flush()
        k = await kpis.compute_kpis(session, actor=data.shop.admin, period=Period.MONTH, now=NOW)
    assert (k.cltv_minor, k.cltv_estimated) == (45000, False)


async def test_staff_see_only_their_own_figures(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        data = await build(session)
        k = await kpis.compute_kpis(session, actor=data.shop.li, period=Period.MONTH, now=NOW)
    # Li owns A, B and D.
    assert not k.whole_shop
    assert (k.new_leads, k.conversion) == (2, Ratio(1, 2))
    assert (k.repurchase, k.churn, k.active, k.new_customers) == (Ratio(1, 2), Ratio(0, 1), 3, 1)
    # Spend is the shop's, not a rep's: no CAC.
    assert (k.spend_minor, k.cac_minor) == (None, None)
    # 300.00 over A and D, first purchase in June → one year → × 3.
    assert (k.cltv_minor, k.cltv_estimated) == (45000, True)
    assert k.satisfaction == (0, 0, 0, 1, 1)
    assert k.reps == (RepFollowUps(data.shop.li.id, "Li", 1, 1),)
    assert (k.delivery, k.opt_out) == (Ratio(1, 2), Ratio(1, 1))


async def test_empty_shop_has_no_rates(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        k = await kpis.compute_kpis(session, actor=shop.owner, period=Period.WEEK, now=NOW)
        funnel = await kpi_series.weekly_funnel(session, actor=shop.owner, now=NOW)
        tiers = await kpi_series.tier_counts(session, actor=shop.owner)
    assert (k.new_leads, k.active, k.new_customers, k.spend_minor) == (0, 0, 0, 0)
    for ratio in (k.conversion, k.repurchase, k.churn, k.delivery, k.opt_out):
        assert ratio.value is None
    assert (k.cac_minor, k.cltv_minor, k.satisfaction_average) == (None, None, None)
    assert [r.name for r in k.reps] == ["Chen", "Li", "Wang"]
    assert len(funnel) == 8 and not any(w.leads for w in funnel)
    assert tiers == {ValueTier.HIGH: 0, ValueTier.MEDIUM: 0, ValueTier.LOW: 0}


async def test_weekly_funnel_and_tiers(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with unit_of_work(sessions) as session:
        data = await build(session)
        for who, tier in [("A", "high"), ("D", "medium"), ("E", "low")]:
            data.people[who].value_tier = ValueTier(tier)
        await session.flush()
        funnel = await kpi_series.weekly_funnel(session, actor=data.shop.owner, now=NOW)
        mine = await kpi_series.weekly_funnel(session, actor=data.shop.li, now=NOW)
        tiers = await kpi_series.tier_counts(session, actor=data.shop.owner)
        li_tiers = await kpi_series.tier_counts(session, actor=data.shop.li)
    weeks = [w.week_start for w in funnel]
    assert weeks[0] == date(2026, 10, 5) and weeks[-1] == date(2026, 11, 23)
    # A, B, C, G came in the week of 2 Nov: A won, B contacted; F (1 Oct) is too old.
    assert [w for w in funnel if w.leads] == [FunnelWeek(date(2026, 11, 2), 4, 2, 1)]
    assert [(w.leads, w.contacted, w.won) for w in mine if w.leads] == [(2, 2, 1)]
    assert tiers == {ValueTier.HIGH: 1, ValueTier.MEDIUM: 1, ValueTier.LOW: 1}
    assert li_tiers == {ValueTier.HIGH: 1, ValueTier.MEDIUM: 1, ValueTier.LOW: 0}


async def test_team_admin_sees_their_team(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with unit_of_work(sessions) as session:
        data = await build(session)
        team = Team(workspace_id=data.shop.workspace.id, name="North")
        session.add(team)
        await session.flush()
        data.shop.admin.team_id = team.id
        data.shop.chen.team_id = team.id
        await session.flush()
        k = await kpis.compute_kpis(session, actor=data.shop.admin, period=Period.MONTH, now=NOW)
    # Chen's C, E, F and the pool's G; no spend figures for part of the shop.
    assert (k.new_leads, k.whole_shop, k.spend_minor) == (2, False, None)
    assert [r.name for r in k.reps] == ["Chen", "Zhou"]
