"""KPIs: the figures a merchant steers by, over a period, for the whole shop or one rep.

What each figure means (the README quotes these):

- **Period**: the current calendar ``week`` (from Monday), ``month`` (the default),
  ``quarter`` or ``year`` in the shop's time zone up to now, or the last ``30d``
  or ``90d`` (``bot.crm.kpi_scope``).
- **New leads**: people added to your list in the period, by a rep, an import or
  the shop's join link.
- **Conversion rate**: of those new leads, the share who are customers by now
  (they bought, or a rep moved them to won).
- **Repurchase rate**: of everyone who had bought by the end of the period, the
  share who bought at least twice.
- **Churn rate**: of the customers who had bought before the period began, the
  share who bought nothing in the last 90 days of the period (``LAPSE_DAYS``).
- **Active customers**: customers who bought or were contacted (a follow-up was
  logged) in the period.
- **New customers**: customers whose first purchase fell in the period.
- **CAC** (cost to win a customer): marketing spend entered with ``/spend`` in the
  period ÷ new customers; "—" when there are none. Only for the whole shop,
  because spend is not split by team or rep.
- **Average CLTV** (lifetime value): the mean of the values the value-tier
  recompute worked out, where it has run; until then an estimate: average order ×
  orders per customer per year × 3 years, the years counted from the first
  purchase (at least one), and the reply says it is an estimate.
- **Satisfaction**: the average survey score in the period (5 = very satisfied,
  1 = very dissatisfied) and how many answers gave each score.
- **Follow-ups done vs due**: per rep, follow-ups logged in the period against
  reminders that fell due in the period.
- **Delivery rate**: campaign messages sent ÷ those Telegram answered in the
  period (sent, failed, blocked or lost in a restart).
- **Opt-out rate**: customers who pressed a campaign's opt-out button in the
  period ÷ customers who were sent a campaign message in the period.

Owners and admins see the whole shop, staff the customers they own and their own
follow-ups (``bot.crm.kpi_scope``). Money counts only amounts in the shop's currency.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crm import kpi_series, workspaces
from bot.crm.kpi_scope import Period, Scope, Window, count_if, period_window, scope_for
from bot.crm.kpi_series import RepFollowUps
from bot.crm.models import (
    ConsentAction,
    ConsentEvent,
    Customer,
    CustomerKind,
    FollowUp,
    MarketingSpend,
    Member,
    OutboxMessage,
    OutboxStatus,
    Purchase,
    SurveyAnswer,
    Workspace,
)
from bot.localtime import local_day, zone

LAPSE_DAYS = 90
ESTIMATE_YEARS = 3
ANSWERED = (OutboxStatus.SENT, OutboxStatus.FAILED, OutboxStatus.BLOCKED, OutboxStatus.UNKNOWN)
OPT_OUT_SOURCE = "campaign_button"


@dataclass(frozen=True, slots=True)
class Ratio:
    """A share as its two counts, so the reply can say "3 of 10" as well as 30%."""

    part: int
    whole: int

    @property
    def value(self) -> float | None:
        """Return part ÷ whole, or None when the whole is zero."""
        return self.part / self.whole if self.whole else None


@dataclass(frozen=True, slots=True)
class Kpis:
    """Every figure of one /stats reply."""

    window: Window
    whole_shop: bool
    currency: str
    new_leads: int
    conversion: Ratio
    repurchase: Ratio
    churn: Ratio
    active: int
    new_customers: int
    spend_minor: int | None
    cltv_minor: int | None
    cltv_estimated: bool
    # How many answers gave each score, index 0 for score 1 … index 4 for score 5.
    satisfaction: tuple[int, int, int, int, int]
    reps: tuple[RepFollowUps, ...]
    delivery: Ratio
    opt_out: Ratio

    @property
    def cac_minor(self) -> int | None:
        """Return spend ÷ new customers, or None without spend figures or new customers."""
        if self.spend_minor is None or not self.new_customers:
            return None
        return round(self.spend_minor / self.new_customers)

    @property
    def satisfaction_average(self) -> float | None:
        """Return the mean score, or None without answers."""
        answers = sum(self.satisfaction)
        weighted = sum(score * n for score, n in enumerate(self.satisfaction, start=1))
        return weighted / answers if answers else None


async def compute_kpis(
    session: AsyncSession, *, actor: Member, period: Period, now: datetime
) -> Kpis:
    """Work out every /stats figure the actor may see for the period ending ``now``.

    Raises:
        PermissionDenied: when the actor is not an active member.
    """
    scope = scope_for(actor)
    workspace = await workspaces.of_member(session, actor)
    window = period_window(period, now=now, tz=zone(workspace.timezone))
    start, end = window.start, window.end
    created = and_(Customer.created_at >= start, Customer.created_at < end)
    leads, converted = (
        await session.execute(
            select(func.count(), count_if(Customer.kind == CustomerKind.CUSTOMER)).where(
                *scope.customers, created
            )
        )
    ).one()
    buyers = (
        select(
            Purchase.customer_id,
            func.count().label("orders"),
            func.min(Purchase.at).label("first_at"),
            func.max(Purchase.at).label("last_at"),
        )
        .join(Customer, Customer.id == Purchase.customer_id)
        .where(*scope.customers, Purchase.workspace_id == scope.workspace_id, Purchase.at < end)
        .group_by(Purchase.customer_id)
        .subquery()
    )
    before = buyers.c.first_at < start
    bought, repeat, old, lapsed, fresh = (
        await session.execute(
            select(
                func.count(),
                count_if(buyers.c.orders >= 2),
                count_if(before),
                count_if(and_(before, buyers.c.last_at < end - timedelta(days=LAPSE_DAYS))),
                count_if(buyers.c.first_at >= start),
            )
        )
    ).one()
    cltv, estimated = await _cltv(session, scope, workspace.currency, end)
    return Kpis(
        window=window,
        whole_shop=scope.whole_shop,
        currency=workspace.currency,
        new_leads=int(leads),
        conversion=Ratio(int(converted), int(leads)),
        repurchase=Ratio(int(repeat), int(bought)),
        churn=Ratio(int(lapsed), int(old)),
        active=await _active(session, scope, start, end),
        new_customers=int(fresh),
        spend_minor=await _spend(session, workspace, window) if scope.whole_shop else None,
        cltv_minor=cltv,
        cltv_estimated=estimated,
        satisfaction=await _satisfaction(session, scope, start, end),
        reps=await kpi_series.follow_ups_by_rep(session, scope=scope, window=window, actor=actor),
        delivery=await _delivery(session, scope, start, end),
        opt_out=await _opt_out(session, scope, start, end),
    )


async def _active(session: AsyncSession, scope: Scope, start: datetime, end: datetime) -> int:
    bought = (
        select(Purchase.customer_id)
        .join(Customer, Customer.id == Purchase.customer_id)
        .where(*scope.customers, Purchase.workspace_id == scope.workspace_id)
        .where(Purchase.at >= start, Purchase.at < end)
    )
    contacted = (
        select(FollowUp.customer_id)
        .join(Customer, Customer.id == FollowUp.customer_id)
        .where(*scope.customers, FollowUp.workspace_id == scope.workspace_id)
        .where(FollowUp.at >= start, FollowUp.at < end)
    )
    # UNION (not UNION ALL) makes a customer who bought and was contacted count once.
    either = bought.union(contacted).subquery()
    return int(await session.scalar(select(func.count()).select_from(either)) or 0)


async def _spend(session: AsyncSession, workspace: Workspace, window: Window) -> int:
    tz = zone(workspace.timezone)
    total = await session.scalar(
        select(func.coalesce(func.sum(MarketingSpend.amount_minor), 0)).where(
            MarketingSpend.workspace_id == workspace.id,
            MarketingSpend.currency == workspace.currency,
            MarketingSpend.spent_on >= local_day(window.start, tz),
            MarketingSpend.spent_on <= local_day(window.end, tz),
        )
    )
    return int(total or 0)


async def _cltv(
    session: AsyncSession, scope: Scope, currency: str, end: datetime
) -> tuple[int | None, bool]:
    average = await session.scalar(
        select(func.avg(Customer.clv_minor)).where(
            *scope.customers, Customer.clv_minor.is_not(None)
        )
    )
    if average is not None:
        return round(float(average)), False
    total, buyers, first_at = (
        await session.execute(
            select(
                func.coalesce(func.sum(Purchase.amount_minor), 0),
                func.count(func.distinct(Purchase.customer_id)),
                func.min(Purchase.at),
            )
            .join(Customer, Customer.id == Purchase.customer_id)
            .where(*scope.customers, Purchase.workspace_id == scope.workspace_id)
            .where(Purchase.currency == currency, Purchase.at < end)
        )
    ).one()
    if not buyers or first_at is None:
        return None, True
    # avg order × orders per customer per year × years = spend per customer per year × years.
    years = max((end - first_at).total_seconds() / 86400, 365) / 365
    return round(int(total) / int(buyers) / years * ESTIMATE_YEARS), True


async def _satisfaction(
    session: AsyncSession, scope: Scope, start: datetime, end: datetime
) -> tuple[int, int, int, int, int]:
    rows = await session.execute(
        select(SurveyAnswer.score, func.count())
        .join(Customer, Customer.id == SurveyAnswer.customer_id)
        .where(*scope.customers, SurveyAnswer.workspace_id == scope.workspace_id)
        .where(SurveyAnswer.at >= start, SurveyAnswer.at < end)
        # Survey answers only: the yes/no after a resolved complaint is kept apart.
        .where(SurveyAnswer.complaint_id.is_(None))
        .group_by(SurveyAnswer.score)
    )
    counts: dict[int, int] = {score: int(n) for score, n in rows.all()}
    return (
        counts.get(1, 0),
        counts.get(2, 0),
        counts.get(3, 0),
        counts.get(4, 0),
        counts.get(5, 0),
    )


async def _delivery(session: AsyncSession, scope: Scope, start: datetime, end: datetime) -> Ratio:
    at = func.coalesce(OutboxMessage.sent_at, OutboxMessage.updated_at)
    sent, answered = (
        await session.execute(
            select(count_if(OutboxMessage.status == OutboxStatus.SENT), func.count())
            .join(Customer, Customer.id == OutboxMessage.customer_id)
            .where(*scope.customers, OutboxMessage.workspace_id == scope.workspace_id)
            .where(OutboxMessage.status.in_(ANSWERED), at >= start, at < end)
        )
    ).one()
    return Ratio(int(sent), int(answered))


async def _opt_out(session: AsyncSession, scope: Scope, start: datetime, end: datetime) -> Ratio:
    messaged = await session.scalar(
        select(func.count(func.distinct(OutboxMessage.customer_id)))
        .join(Customer, Customer.id == OutboxMessage.customer_id)
        .where(*scope.customers, OutboxMessage.workspace_id == scope.workspace_id)
        .where(OutboxMessage.status == OutboxStatus.SENT)
        .where(OutboxMessage.sent_at >= start, OutboxMessage.sent_at < end)
    )
    opted_out = await session.scalar(
        select(func.count(func.distinct(ConsentEvent.customer_id)))
        .join(Customer, Customer.id == ConsentEvent.customer_id)
        .where(*scope.customers, ConsentEvent.workspace_id == scope.workspace_id)
        .where(ConsentEvent.action == ConsentAction.OPT_OUT)
        .where(ConsentEvent.source == OPT_OUT_SOURCE)
        .where(ConsentEvent.at >= start, ConsentEvent.at < end)
    )
    return Ratio(int(opted_out or 0), int(messaged or 0))
