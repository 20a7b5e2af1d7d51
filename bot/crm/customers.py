"""Customers who reach the bot themselves: joining by link and being found by account."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crm import audit
from bot.crm.models import Customer, CustomerKind, Member, Workspace
from bot.messaging import User


async def join_by_link(
    session: AsyncSession,
    *,
    workspace: Workspace,
    user: User,
    chat_id: int,
    locale: str,
    referrer: Member | None,
) -> tuple[Customer, bool]:
    """Find or create the sender's record in ``workspace``; return it and whether it is new.

    A new record is a lead owned by the referring member, or unowned (the lead
    pool) when the workspace's public link was used. An existing record keeps
    its owner: a second link does not steal a customer from their rep.
    """
    customer = await session.scalar(
        select(Customer).where(
            Customer.workspace_id == workspace.id, Customer.tg_user_id == user.id
        )
    )
    if customer is not None:
        customer.chat_id = chat_id
        return customer, False
    customer = Customer(
        workspace_id=workspace.id,
        owner_member_id=referrer.id if referrer else None,
        name=(user.full_name or user.username or str(user.id))[:200],
        tg_user_id=user.id,
        chat_id=chat_id,
        locale=locale,
        kind=CustomerKind.LEAD,
        source="referral" if referrer else "join_link",
    )
    session.add(customer)
    await session.flush()
    await audit.record(
        session,
        workspace_id=workspace.id,
        actor_member_id=None,
        action="customer.join",
        entity="customer",
        entity_id=customer.id,
        details={"source": customer.source, "owner_member_id": customer.owner_member_id},
    )
    return customer, True


async def for_account(session: AsyncSession, *, tg_user_id: int) -> Sequence[Customer]:
    """Return every customer record linked to a Telegram account, newest first.

    One person may be a customer of several merchants using the same bot.
    """
    result = await session.execute(
        select(Customer)
        .where(Customer.tg_user_id == tg_user_id)
        .order_by(Customer.updated_at.desc(), Customer.id.desc())
    )
    return result.scalars().all()


async def get_for_account(
    session: AsyncSession, *, customer_id: int, tg_user_id: int
) -> Customer | None:
    """Return the customer record only if it belongs to this Telegram account."""
    return await session.scalar(
        select(Customer).where(Customer.id == customer_id, Customer.tg_user_id == tg_user_id)
    )
