"""Marketing spend: what the shop paid to win customers, entered by managers for CAC."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crm import audit, workspaces
from bot.crm.guards import require_role
from bot.crm.models import MarketingSpend, Member, Role
from bot.crm.notes import clean_note
from bot.crm.purchases import check_amount
from bot.localtime import local_day, zone

MAX_NOTE = 200


@dataclass(frozen=True, slots=True)
class MonthSpend:
    """The current local month's spend entries, oldest first, and their total."""

    entries: Sequence[MarketingSpend]
    total_minor: int
    currency: str


async def record_spend(
    session: AsyncSession, *, actor: Member, amount_minor: int, note: str | None, now: datetime
) -> MarketingSpend:
    """Record spend on today's local date in the shop's currency, and audit it.

    Raises:
        PermissionDenied: when the actor is not an owner or admin.
        InvalidInput: when the amount is not positive or the note too long.
    """
    require_role(actor, Role.OWNER, Role.ADMIN)
    check_amount(amount_minor)
    note = clean_note(note, most=MAX_NOTE)
    workspace = await workspaces.of_member(session, actor)
    entry = MarketingSpend(
        workspace_id=workspace.id,
        amount_minor=amount_minor,
        currency=workspace.currency,
        spent_on=local_day(now, zone(workspace.timezone)),
        note=note,
        member_id=actor.id,
        created_at=now,
    )
    session.add(entry)
    await session.flush()
    details = {"amount_minor": amount_minor, "currency": workspace.currency}
    await audit.record_change(session, actor, "spend.create", entry, details)
    return entry


async def month_spend(session: AsyncSession, *, actor: Member, now: datetime) -> MonthSpend:
    """Return this local month's spend entries in the shop's currency and their total.

    Raises:
        PermissionDenied: when the actor is not an owner or admin.
    """
    require_role(actor, Role.OWNER, Role.ADMIN)
    workspace = await workspaces.of_member(session, actor)
    first = local_day(now, zone(workspace.timezone)).replace(day=1)
    result = await session.execute(
        select(MarketingSpend)
        .where(
            MarketingSpend.workspace_id == workspace.id,
            MarketingSpend.currency == workspace.currency,
            MarketingSpend.spent_on >= first,
        )
        .order_by(MarketingSpend.spent_on, MarketingSpend.id)
    )
    entries = result.scalars().all()
    return MonthSpend(entries, sum(e.amount_minor for e in entries), workspace.currency)
