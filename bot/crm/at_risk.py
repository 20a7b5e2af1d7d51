"""At-risk customers: the listing query, the items a rep sees, detection apart, who to tell.

"At risk" means one thing on every screen: an open churn episode (see
``bot.crm.churn``). The RFM segment of regulars who have not bought lately is a
different figure, shown as "slipping" (``Segment.AT_RISK``); ``slipping_count``
gives /atrisk the same count /tiers and ``/find segment:slipping`` show.

Detection runs in ``detect_apart``: on a connection of its own, reading first and
then committing after each batch of customers it writes, so other shops' updates
are not held up by SQLite's write lock.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.crm import churn
from bot.crm.models import Customer, FollowUp, Member, Purchase, Role
from bot.crm.models.core import AtRiskReason, Segment, ValueTier
from bot.crm.scope import seen_by, team_limited, visible_customers
from bot.crm.store import batches_apart

# Between two batches of writes: long enough for a waiting update to take the lock.
PAUSE = 0.02
RiskQuery = Select[Customer, str, datetime, datetime]


@dataclass(frozen=True, slots=True)
class RiskItem:
    """An at-risk customer as a rep sees them: who, why, and how to reach them."""

    customer_id: int
    name: str
    owner_name: str | None
    reason: AtRiskReason
    since: datetime
    days_quiet: int
    usual_days: int | None
    tier_from: ValueTier | None
    tier_to: ValueTier | None


def at_risk_of(actor: Member, *, mine: bool) -> RiskQuery:
    """Return the at-risk customers ``actor`` is shown, newest episodes first.

    Staff, and anyone asking for ``mine``, get the customers they own; owners and
    admins everyone in their scope.
    """
    query = at_risk_query(actor.workspace_id)
    if mine or actor.role is Role.STAFF:
        return query.where(Customer.owner_member_id == actor.id)
    return query.where(*seen_by(actor, Customer.id))


async def count_of(session: AsyncSession, query: RiskQuery) -> int:
    """Count the customers an ``at_risk_of`` query lists, without working out their last dates."""
    # Counting over the listing query as a subquery made SQLite walk the shop's at-risk index
    # with both correlated subqueries; the bare condition lets it use the owner's index.
    condition = query.whereclause
    assert condition is not None  # noqa: S101 - at_risk_query always filters
    counted = select(func.count()).select_from(Customer).where(condition)
    return int(await session.scalar(counted) or 0)


async def slipping_count(session: AsyncSession, actor: Member, *, mine: bool) -> int:
    """Count the customers of the "slipping" segment in the scope ``at_risk_of`` lists."""
    query = select(func.count()).where(
        Customer.workspace_id == actor.workspace_id, Customer.rfm_segment == Segment.AT_RISK
    )
    if mine or actor.role is Role.STAFF:
        query = query.where(Customer.owner_member_id == actor.id)
    else:
        query = query.where(*seen_by(actor, Customer.id))
    return int(await session.scalar(query) or 0)


def at_risk_query(workspace_id: int) -> RiskQuery:
    """Return a query of the workspace's at-risk customers, newest episodes first."""
    last_purchase = (
        select(func.max(Purchase.at)).where(Purchase.customer_id == Customer.id).scalar_subquery()
    )
    last_follow_up = (
        select(func.max(FollowUp.at)).where(FollowUp.customer_id == Customer.id).scalar_subquery()
    )
    return (
        select(Customer, Member.display_name, last_purchase, last_follow_up)
        .outerjoin(Member, Member.id == Customer.owner_member_id)
        .where(Customer.workspace_id == workspace_id, Customer.at_risk_since.is_not(None))
        .order_by(Customer.at_risk_since.desc(), Customer.id.desc())
    )


async def load_items(
    session: AsyncSession,
    query: RiskQuery,
    *,
    now: datetime,
) -> list[RiskItem]:
    """Run an ``at_risk_query`` (narrowed by the caller) into items."""
    items = []
    for customer, owner_name, purchased, followed in (await session.execute(query)).all():
        since = customer.at_risk_since or now
        seen = [d for d in (purchased, followed, customer.last_contact_at) if d is not None]
        last = max(seen) if seen else since
        items.append(
            RiskItem(
                customer_id=customer.id,
                name=customer.name,
                owner_name=owner_name,
                reason=customer.at_risk_reason or AtRiskReason.QUIET,
                since=since,
                days_quiet=max(0, (now - last).days),
                usual_days=customer.usual_interval_days,
                tier_from=customer.previous_value_tier,
                tier_to=customer.value_tier,
            )
        )
    return items


async def detect_apart(
    engine: AsyncEngine, workspace_id: int, *, now: datetime, batch: int = churn.BATCH
) -> list[churn.AtRisk]:
    """Run churn detection in transactions of its own, one per batch of customers written.

    A failure leaves the batches already written in place: each is whole (an episode
    ended or started, with its interval), and the next run carries on from there.
    """
    async with batches_apart(engine, pause=PAUSE) as (session, between):
        return await churn.detect(session, workspace_id, now=now, batch=batch, between=between)


async def pending_by_member(
    session: AsyncSession, workspace_id: int
) -> dict[Member, list[tuple[int, AtRiskReason | None]]]:
    """Group the un-alerted at-risk customers by the member to tell, newest first.

    Customers without an active owner go to the owner and admins (an admin limited
    to a team: only those their team reaches).
    """
    active = (
        await session.scalars(
            select(Member).where(Member.workspace_id == workspace_id, Member.active.is_(True))
        )
    ).all()
    by_id = {m.id: m for m in active}
    managers = [m for m in active if m.role in (Role.OWNER, Role.ADMIN)]
    pending_now = (Customer.at_risk_since.is_not(None), Customer.churn_alerted_at.is_(None))
    # A team-limited admin hears only about the customers their team reaches.
    reach = {
        m.id: set(
            await session.scalars(
                visible_customers(m).with_only_columns(Customer.id).where(*pending_now)
            )
        )
        for m in managers
        if team_limited(m)
    }
    rows = await session.execute(
        select(Customer.id, Customer.owner_member_id, Customer.at_risk_reason)
        .where(Customer.workspace_id == workspace_id, *pending_now)
        .order_by(Customer.at_risk_since.desc(), Customer.id.desc())
    )
    pending: dict[Member, list[tuple[int, AtRiskReason | None]]] = defaultdict(list)
    for customer_id, owner_id, reason in rows.all():
        owner = by_id.get(owner_id) if owner_id is not None else None
        told = (
            [owner]
            if owner is not None
            else [m for m in managers if m.id not in reach or customer_id in reach[m.id]]
        )
        for member in told:
            pending[member].append((customer_id, reason))
    return dict(pending)
