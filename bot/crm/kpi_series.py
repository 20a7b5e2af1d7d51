"""KPI series for the /stats charts: weekly lead funnel, value tiers, follow-ups per rep."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from bot.crm import workspaces
from bot.crm.kpi_scope import Scope, Window, count_if, scope_for
from bot.crm.models import Customer, CustomerKind, FollowUp, Member, Reminder, Role
from bot.crm.models.core import ValueTier
from bot.localtime import local_day, local_midnight, zone

FUNNEL_WEEKS = 8


@dataclass(frozen=True, slots=True)
class RepFollowUps:
    """One rep's follow-ups logged and reminders due in the period."""

    member_id: int
    name: str
    done: int
    due: int


@dataclass(frozen=True, slots=True)
class FunnelWeek:
    """Leads created in one local week and how far they have got since."""

    week_start: date
    leads: int
    contacted: int
    won: int


async def weekly_funnel(
    session: AsyncSession, *, actor: Member, now: datetime, weeks: int = FUNNEL_WEEKS
) -> tuple[FunnelWeek, ...]:
    """Return, for each of the last ``weeks`` local weeks, its new leads, contacted and won.

    A lead counts as contacted once a follow-up was logged, it left the "new" stage
    or it became a customer; as won once it is a customer.

    Raises:
        PermissionDenied: when the actor is not an active member.
    """
    scope = scope_for(actor)
    workspace = await workspaces.of_member(session, actor)
    tz = zone(workspace.timezone)
    today = local_day(now, tz)
    monday = today - timedelta(days=today.weekday())
    days = [monday - timedelta(weeks=weeks - 1 - i) for i in range(weeks)]
    bounds = [local_midnight(day, tz) for day in days] + [now]
    won = Customer.kind == CustomerKind.CUSTOMER
    contacted = or_(Customer.last_contact_at.is_not(None), Customer.stage != "new", won)
    columns: list[ColumnElement[int]] = []
    for low, high in zip(bounds, bounds[1:], strict=False):
        created = and_(Customer.created_at >= low, Customer.created_at < high)
        columns += [
            count_if(created),
            count_if(and_(created, contacted)),
            count_if(and_(created, won)),
        ]
    # One scan over the window's leads, one sum per week and step: no dialect-specific week SQL.
    row = (
        await session.execute(
            select(*columns).where(
                *scope.customers, Customer.created_at >= bounds[0], Customer.created_at < now
            )
        )
    ).one()
    return tuple(
        FunnelWeek(day, int(row[3 * i]), int(row[3 * i + 1]), int(row[3 * i + 2]))
        for i, day in enumerate(days)
    )


async def tier_counts(session: AsyncSession, *, actor: Member) -> Mapping[ValueTier, int]:
    """Return how many customers in the actor's scope are in each value tier (as last computed).

    Raises:
        PermissionDenied: when the actor is not an active member.
    """
    scope = scope_for(actor)
    rows = await session.execute(
        select(Customer.value_tier, func.count())
        .where(*scope.customers, Customer.value_tier.is_not(None))
        .group_by(Customer.value_tier)
    )
    counts = {tier: int(n) for tier, n in rows.all() if tier is not None}
    return {tier: counts.get(tier, 0) for tier in ValueTier}


async def follow_ups_by_rep(
    session: AsyncSession, *, scope: Scope, window: Window, actor: Member
) -> tuple[RepFollowUps, ...]:
    """Return each rep's follow-ups logged and reminders due in the window, by name."""
    done = await _per_member(session, FollowUp, FollowUp.at, scope=scope, window=window)
    due = await _per_member(session, Reminder, Reminder.due_at, scope=scope, window=window)
    members = await session.execute(
        select(Member.id, Member.display_name, Member.role, Member.active)
        .where(Member.workspace_id == scope.workspace_id, scope.members)
        .order_by(Member.display_name, Member.id)
    )
    # Every active rep is listed, idle ones too; managers only when they have figures.
    return tuple(
        RepFollowUps(member_id, name, done.get(member_id, 0), due.get(member_id, 0))
        for member_id, name, role, active in members.all()
        if done.get(member_id)
        or due.get(member_id)
        or (active and role is Role.STAFF)
        or member_id == actor.id
    )


async def _per_member(
    session: AsyncSession,
    model: type[FollowUp | Reminder],
    at: InstrumentedAttribute[datetime],
    *,
    scope: Scope,
    window: Window,
) -> dict[int, int]:
    """Count the scope's members' rows of ``model`` whose ``at`` falls in the window."""
    in_scope = select(Member.id).where(Member.workspace_id == scope.workspace_id, scope.members)
    rows = await session.execute(
        select(model.member_id, func.count())
        .where(model.workspace_id == scope.workspace_id, model.member_id.in_(in_scope))
        .where(at >= window.start, at < window.end)
        .group_by(model.member_id)
    )
    return {member_id: int(count) for member_id, count in rows.all() if member_id is not None}
