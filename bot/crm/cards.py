"""Customer cards: everything a rep sees about one customer, gathered in one place."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crm import companies
from bot.crm.models import (
    Company,
    Customer,
    CustomerTag,
    FollowUp,
    Member,
    Purchase,
    Reminder,
    Tag,
    Workspace,
)
from bot.crm.scope import get_visible


@dataclass(frozen=True, slots=True)
class Card:
    """Everything a customer's card shows, gathered for one visible customer."""

    customer: Customer
    companies: Sequence[Company]
    owner_name: str | None
    tags: Sequence[str]
    follow_ups: Sequence[FollowUp]
    next_reminder: Reminder | None
    purchases: int
    total_minor: int
    last_purchase_at: datetime | None
    currency: str

    @property
    def repurchases(self) -> int:
        """Return how many purchases came after the first."""
        return max(self.purchases - 1, 0)


async def card(session: AsyncSession, *, actor: Member, customer_id: int) -> Card:
    """Gather a visible customer's card: company chain, tags, contacts, reminder, purchases.

    A record without its own join link (imported, or joined by the shop's link)
    gets one here, so the card can always show it.

    Raises:
        NotFound: when the customer is not among the actor's.
    """
    customer = await get_visible(session, actor=actor, customer_id=customer_id)
    if customer.erased_at is None:
        # An erased record must never be linked to an account again.
        customer.join_token = customer.join_token or secrets.token_urlsafe(12)
    ws = actor.workspace_id
    workspace = await session.get(Workspace, ws)
    assert workspace is not None  # noqa: S101 - the member's workspace exists
    chain = (
        await companies.chain(session, workspace_id=ws, company_id=customer.company_id)
        if customer.company_id
        else []
    )
    owner = (
        await session.get(Member, customer.owner_member_id) if customer.owner_member_id else None
    )
    tag_names = await session.scalars(
        select(Tag.name)
        .join(CustomerTag, CustomerTag.tag_id == Tag.id)
        .where(CustomerTag.workspace_id == ws, CustomerTag.customer_id == customer.id)
        .order_by(Tag.weight.desc(), Tag.name)
    )
    follow_ups = await session.scalars(
        select(FollowUp)
        .where(FollowUp.workspace_id == ws, FollowUp.customer_id == customer.id)
        .order_by(FollowUp.at.desc(), FollowUp.id.desc())
        .limit(3)
    )
    reminder = await session.scalar(
        select(Reminder)
        .where(
            Reminder.workspace_id == ws,
            Reminder.customer_id == customer.id,
            Reminder.done_at.is_(None),
        )
        .order_by(Reminder.due_at, Reminder.id)
        .limit(1)
    )
    count, total, last = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(Purchase.amount_minor), 0),
                func.max(Purchase.at),
            ).where(
                Purchase.workspace_id == ws,
                Purchase.customer_id == customer.id,
                Purchase.currency == workspace.currency,
            )
        )
    ).one()
    return Card(
        customer=customer,
        companies=chain,
        owner_name=owner.display_name if owner else None,
        tags=tag_names.all(),
        follow_ups=follow_ups.all(),
        next_reminder=reminder,
        purchases=int(count),
        total_minor=int(total),
        last_purchase_at=last,
        currency=workspace.currency,
    )
