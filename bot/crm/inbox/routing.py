"""Routing: who receives a customer's messages, and handing a conversation to a colleague.

A customer's messages go to the active owner of their record. Without one (the
pool, or an owner who was removed) they go to the shop's active owner and
admins; an admin limited to a team only when the customer is in their reach
(unowned, or owned by their team). Removed members never receive anything.

A thread remembers its assignee (the record's owner when it opened, or whoever
it was transferred to); when the assignee is no longer active the thread falls
back to the shop's managers, as an unowned customer's does.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crm import audit, members
from bot.crm.inbox.access import thread_for
from bot.crm.leads import check_assignable
from bot.crm.models import Customer, Member, Role, Thread, ThreadStatus
from bot.crm.scope import members_within_reach
from bot.errors import Conflict, NotFound, PermissionDenied
from bot.i18n import N_

NO_OPEN_THREAD = N_("Customer #{id} has no open conversation among yours.")


async def active_member(session: AsyncSession, member_id: int | None) -> Member | None:
    """Return the member with this id when they are still active, else None."""
    if member_id is None:
        return None
    member = await session.get(Member, member_id)
    return member if member is not None and member.active else None


async def managers(session: AsyncSession, *, customer: Customer) -> tuple[Member, ...]:
    """Return the shop's active owner and the admins who may see ``customer``, owner first."""
    owner_team = None
    if customer.owner_member_id is not None:
        owner = await session.get(Member, customer.owner_member_id)
        owner_team = owner.team_id if owner is not None else None
    return tuple(
        m
        for m in await members.managers_of(session, workspace_id=customer.workspace_id)
        if m.role is Role.OWNER
        or m.team_id is None
        or customer.owner_member_id is None
        or m.team_id == owner_team
    )


async def recipients(session: AsyncSession, *, customer: Customer) -> tuple[Member, ...]:
    """Return who gets the customer's messages: their active owner, else the shop's managers."""
    owner = await active_member(session, customer.owner_member_id)
    if owner is not None and owner.workspace_id == customer.workspace_id:
        return (owner,)
    return await managers(session, customer=customer)


async def thread_recipients(
    session: AsyncSession, *, thread: Thread, customer: Customer
) -> tuple[Member, ...]:
    """Return who gets a thread's messages: its active assignee, else the shop's managers."""
    assignee = await active_member(session, thread.assignee_member_id)
    if assignee is not None:
        return (assignee,)
    return await managers(session, customer=customer)


async def transfer(session: AsyncSession, *, actor: Member, thread_id: int, to: Member) -> Thread:
    """Hand an open conversation to another member; the customer's record keeps its owner.

    The owner, an admin (within their team) or the thread's current assignee may
    transfer it, to any active member an admin could assign customers to.

    Raises:
        PermissionDenied: when the actor is staff and not the assignee, or ``to`` is
            inactive, in another shop or outside a team-limited admin's team.
        NotFound: when the thread is not one the actor may handle.
        Conflict: when the thread is closed or already with ``to``.
    """
    thread, customer = await thread_for(session, actor=actor, thread_id=thread_id, lock=True)
    if actor.role is Role.STAFF and thread.assignee_member_id != actor.id:
        raise PermissionDenied(N_("Sorry, your role can't do that."))
    check_assignable(actor, to)
    if thread.status is not ThreadStatus.OPEN:
        raise Conflict(N_("{name}'s conversation is closed already."), name=customer.name)
    if thread.assignee_member_id == to.id:
        raise Conflict(
            N_("{name}'s conversation is with {member} already."),
            name=customer.name,
            member=to.display_name,
        )
    previous = thread.assignee_member_id
    thread.assignee_member_id = to.id
    details = {"from_member_id": previous, "to_member_id": to.id}
    await audit.record_change(session, actor, "thread.transfer", thread, details)
    await session.flush()
    return thread


async def customer_thread(session: AsyncSession, *, actor: Member, customer_id: int) -> Thread:
    """Return the open conversation of a customer whose conversations the actor may handle.

    Raises:
        PermissionDenied: when the actor is not an active member.
        NotFound: when the customer has no open conversation the actor may handle
            (another shop's customer, one outside the actor's scope, or none open).
    """
    thread_id = await session.scalar(
        select(Thread.id).where(
            Thread.workspace_id == actor.workspace_id,
            Thread.customer_id == customer_id,
            Thread.status == ThreadStatus.OPEN,
        )
    )
    if thread_id is None:
        raise NotFound(NO_OPEN_THREAD, id=customer_id)
    try:
        thread, _customer = await thread_for(session, actor=actor, thread_id=thread_id)
    except NotFound as exc:
        raise NotFound(NO_OPEN_THREAD, id=customer_id) from exc
    return thread


async def transfer_targets(
    session: AsyncSession, *, actor: Member, thread: Thread
) -> tuple[Member, ...]:
    """Return the active members the actor may hand ``thread`` to, its assignee left out."""
    rows = await session.scalars(
        select(Member)
        .where(members_within_reach(actor), Member.active.is_(True))
        .order_by(Member.display_name, Member.id)
    )
    return tuple(m for m in rows if m.id != thread.assignee_member_id)
