"""Scope: which customers an acting member may see, as one query every service builds on."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from bot.crm.models import Customer, CustomerShare, Member, Role
from bot.errors import NotFound
from bot.i18n import N_


def visible_customers(actor: Member) -> Select[Customer]:
    """Return a query of the customers ``actor`` may see, always within their workspace.

    Owners and admins see the whole workspace, except an admin limited to a team,
    who sees that team's customers and the unowned pool. Staff see the customers
    they own plus those shared with them.
    """
    query = select(Customer).where(Customer.workspace_id == actor.workspace_id)
    if actor.role is Role.STAFF:
        shared = select(CustomerShare.customer_id).where(
            CustomerShare.workspace_id == actor.workspace_id,
            CustomerShare.member_id == actor.id,
        )
        return query.where(or_(Customer.owner_member_id == actor.id, Customer.id.in_(shared)))
    if team_limited(actor):
        team = select(Member.id).where(
            Member.workspace_id == actor.workspace_id, Member.team_id == actor.team_id
        )
        return query.where(
            or_(Customer.owner_member_id.in_(team), Customer.owner_member_id.is_(None))
        )
    return query


def team_limited(actor: Member) -> bool:
    """Return whether ``actor`` is an admin limited to one team."""
    return actor.role is Role.ADMIN and actor.team_id is not None


def seen_by(
    actor: Member, customer_id: InstrumentedAttribute[int]
) -> tuple[ColumnElement[bool], ...]:
    """Return the conditions keeping ``customer_id`` to the customers ``actor`` may see.

    None for whoever sees the whole workspace: the caller's query, which always
    filters by the workspace, needs no subquery then.
    """
    if actor.role is not Role.STAFF and not team_limited(actor):
        return ()
    return (customer_id.in_(visible_customers(actor).with_only_columns(Customer.id)),)


def within_reach(actor: Member, member: Member) -> bool:
    """Return whether ``member`` is someone ``actor`` may see and manage.

    The same rule as ``visible_customers``: a team-limited admin reaches only
    their own team's members (a member without a team is outside it); owners and
    other admins reach the whole workspace.
    """
    if member.workspace_id != actor.workspace_id:
        return False
    return not team_limited(actor) or member.team_id == actor.team_id


def members_within_reach(actor: Member) -> ColumnElement[bool]:
    """Return the condition on ``Member`` that ``within_reach`` states for one member."""
    workspace = Member.workspace_id == actor.workspace_id
    return and_(workspace, Member.team_id == actor.team_id) if team_limited(actor) else workspace


async def get_visible(session: AsyncSession, *, actor: Member, customer_id: int) -> Customer:
    """Return one customer the actor may see.

    Raises:
        NotFound: when it does not exist, is in another workspace or outside the actor's scope.
    """
    customer = await session.scalar(visible_customers(actor).where(Customer.id == customer_id))
    if customer is None:
        raise NotFound(N_("I can't find customer #{id} among yours."), id=customer_id)
    return customer


def team_customers(workspace_id: int, team_id: int) -> Select[Customer]:
    """Return a query of the customers an admin limited to team ``team_id`` sees.

    The same rule as ``visible_customers``, for a stored restriction (a campaign's
    audience) rather than for whoever is acting now.
    """
    # A transient member, never added to a session: the rule stays in one place.
    return visible_customers(Member(workspace_id=workspace_id, role=Role.ADMIN, team_id=team_id))


async def can_see(session: AsyncSession, *, actor: Member, customer_id: int) -> bool:
    """Return whether ``actor`` may see the customer ``customer_id``."""
    found = await session.scalar(
        visible_customers(actor).with_only_columns(Customer.id).where(Customer.id == customer_id)
    )
    return found is not None
