"""Removal: a member leaving a shop, and where their customers and reminders go.

A removed member's row stays (``active`` False, ``removed_at`` set) so their
follow-ups, purchases and the audit log keep a name. Everything they were still
responsible for moves in the same unit of work: their customers go to a named
colleague or to the shop's pool; their pending reminders about those customers
follow them to the colleague and are cancelled (marked done) when the customers
go to the pool, as are their personal reminders; their open invites are
withdrawn; shares with them and their unfinished dialogs are dropped; their
unresolved complaints go to the colleague (or back to the shop's default).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crm import audit, invites, leads
from bot.crm.guards import require_role
from bot.crm.models import (
    Complaint,
    ComplaintStatus,
    ConversationState,
    Customer,
    CustomerShare,
    Member,
    Reminder,
    Role,
)
from bot.crm.scope import within_reach
from bot.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from bot.i18n import N_


@dataclass(frozen=True, slots=True)
class Removal:
    """What happened when a member left: who took over and how much moved."""

    member: Member
    target: Member | None
    customers: int
    reminders_moved: int
    reminders_cancelled: int
    invites_withdrawn: int


async def check_removable(session: AsyncSession, *, actor: Member, member: Member) -> int:
    """Refuse unless ``actor`` may remove ``member``; return how many customers they own.

    The owner may remove anyone but themselves; an admin only staff, and a
    team-limited admin only staff of their own team.

    Raises:
        PermissionDenied: when the actor's role or team does not reach ``member``.
        NotFound: when ``member`` is in another workspace.
        Conflict: when ``member`` is no longer a member.
        InvalidInput: when the actor names themselves (they /leave instead).
    """
    require_role(actor, Role.OWNER, Role.ADMIN)
    if member.workspace_id != actor.workspace_id:
        raise NotFound(N_("I can't find that colleague. See /team."))
    if not member.active:
        raise Conflict(
            N_("{member} is no longer a member of the shop."), member=member.display_name
        )
    if member.role is Role.OWNER:
        raise PermissionDenied(N_("The shop's owner can't be removed."))
    if member.id == actor.id:
        raise InvalidInput(N_("To leave the shop yourself, send /leave."))
    if actor.role is not Role.OWNER and member.role is not Role.STAFF:
        raise PermissionDenied(N_("Only the owner can remove an admin."))
    if not within_reach(actor, member):
        raise PermissionDenied(N_("{member} isn't on your team."), member=member.display_name)
    return await leads.count_owned_by(session, member)


def check_target(actor: Member, member: Member, target: Member) -> None:
    """Refuse a colleague who may not take over ``member``'s customers.

    Raises:
        InvalidInput: when ``target`` is the member being removed.
        PermissionDenied: when ``target`` is inactive or outside the actor's team.
    """
    if target.id == member.id:
        raise InvalidInput(N_("Please pick someone else to take over the customers."))
    leads.check_assignable(actor, target)


async def remove_member(
    session: AsyncSession, *, actor: Member, member: Member, target: Member | None, now: datetime
) -> Removal:
    """Take ``member`` out of the shop; their customers go to ``target`` or to the pool.

    Raises:
        PermissionDenied, NotFound, Conflict, InvalidInput: from ``check_removable`` and
            ``check_target``.
    """
    # Lock the member's row: of two managers removing the same person, the second
    # sees them already gone instead of moving nothing and auditing twice.
    await session.refresh(member, with_for_update=True)
    await check_removable(session, actor=actor, member=member)
    if target is not None:
        check_target(actor, member, target)
    return await _take_out(
        session, actor=actor, member=member, target=target, now=now, action="member.remove"
    )


async def leave_shop(session: AsyncSession, *, actor: Member, now: datetime) -> Removal:
    """Take the actor out of their shop; their customers go to the pool.

    Raises:
        PermissionDenied: when the actor is no longer a member.
        InvalidInput: when the actor is the owner, who can't leave their own shop.
    """
    await session.refresh(actor, with_for_update=True)
    check_leavable(actor)
    return await _take_out(
        session, actor=actor, member=actor, target=None, now=now, action="member.leave"
    )


def check_leavable(actor: Member) -> None:
    """Refuse /leave to someone who is not a member, or to the owner.

    Raises:
        PermissionDenied: when the actor is no longer a member.
        InvalidInput: when the actor is the owner, who can't leave their own shop.
    """
    require_role(actor, *Role)
    if actor.role is Role.OWNER:
        raise InvalidInput(
            N_("You own this shop, so you can't leave it. You can remove colleagues with /remove.")
        )


async def count_owned(session: AsyncSession, *, actor: Member) -> int:
    """Return how many customers the actor owns (for the /leave confirmation)."""
    require_role(actor, *Role)
    return await leads.count_owned_by(session, actor)


async def _take_out(
    session: AsyncSession,
    *,
    actor: Member,
    member: Member,
    target: Member | None,
    now: datetime,
    action: str,
) -> Removal:
    ws = member.workspace_id
    # Lock the member's customers first so a concurrent /claim or reassign waits.
    owned = list(
        await session.scalars(
            select(Customer.id)
            .where(Customer.workspace_id == ws, Customer.owner_member_id == member.id)
            .with_for_update()
        )
    )
    if owned:
        await session.execute(
            update(Customer)
            .where(Customer.workspace_id == ws, Customer.id.in_(owned))
            .values(
                owner_member_id=target.id if target else None,
                owner_assigned_at=now if target else None,
            )
            .execution_options(synchronize_session=False)
        )
    moved = 0
    pending = (Reminder.workspace_id == ws, Reminder.member_id == member.id)
    if target is not None and owned:
        # A reminder that already fired but was never done fires again for the new owner.
        result = await session.execute(
            update(Reminder)
            .where(*pending, Reminder.done_at.is_(None), Reminder.customer_id.in_(owned))
            .values(member_id=target.id, fired_at=None, message_id=None)
            .execution_options(synchronize_session=False)
        )
        moved = int(getattr(result, "rowcount", 0) or 0)
    result = await session.execute(
        update(Reminder)
        .where(*pending, Reminder.done_at.is_(None))
        .values(done_at=now)
        .execution_options(synchronize_session=False)
    )
    cancelled = int(getattr(result, "rowcount", 0) or 0)
    await session.execute(
        update(Complaint)
        .where(
            Complaint.workspace_id == ws,
            Complaint.assigned_member_id == member.id,
            Complaint.status != ComplaintStatus.RESOLVED,
        )
        .values(assigned_member_id=target.id if target else None)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        delete(CustomerShare).where(
            CustomerShare.workspace_id == ws, CustomerShare.member_id == member.id
        )
    )
    await session.execute(
        delete(ConversationState).where(
            ConversationState.workspace_id == ws,
            ConversationState.user_id == member.tg_user_id,
        )
    )
    withdrawn = await invites.withdraw_open_invites(
        session, workspace_id=ws, member_id=member.id, now=now
    )
    member.active = False
    member.removed_at = now
    details = {
        "role": member.role.value,
        "to_member_id": target.id if target else None,
        "customers": len(owned),
        "reminders_moved": moved,
        "reminders_cancelled": cancelled,
        "invites_withdrawn": withdrawn,
    }
    await audit.record_change(session, actor, action, member, details)
    await session.flush()
    return Removal(member, target, len(owned), moved, cancelled, withdrawn)
