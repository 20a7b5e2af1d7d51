"""Scope: which customers an acting member may see, as one query every service builds on."""

from __future__ import annotations

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

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
    if actor.role is Role.ADMIN and actor.team_id is not None:
        team = select(Member.id).where(
            Member.workspace_id == actor.workspace_id, Member.team_id == actor.team_id
        )
        return query.where(
            or_(Customer.owner_member_id.in_(team), Customer.owner_member_id.is_(None))
        )
    return query


async def get_visible(session: AsyncSession, *, actor: Member, customer_id: int) -> Customer:
    """Return one customer the actor may see.

    Raises:
        NotFound: when it does not exist, is in another workspace or outside the actor's scope.
    """
    customer = await session.scalar(visible_customers(actor).where(Customer.id == customer_id))
    if customer is None:
        raise NotFound(N_("I can't find customer #{id} among yours."), id=customer_id)
    return customer
