"""Access to conversations: which threads an acting member may see and answer.

A member may handle a thread when it is assigned to them, or when they may see
its customer (``bot.crm.scope``: owners and admins the shop, a team-limited
admin their team and the pool, staff their own and shared customers). Anything
else, another shop's thread included, is reported as not found, as customers
out of scope are.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crm.guards import require_role
from bot.crm.models import Customer, Member, Role, Thread
from bot.crm.scope import can_see, visible_customers
from bot.errors import NotFound
from bot.i18n import N_

THREAD_NOT_FOUND = N_("I can't find conversation #{id} among yours.")


def handled_by(actor: Member) -> ColumnElement[bool]:
    """Return the condition on ``Thread`` that keeps a query to threads ``actor`` may handle."""
    visible = visible_customers(actor).with_only_columns(Customer.id)
    return (Thread.workspace_id == actor.workspace_id) & or_(
        Thread.assignee_member_id == actor.id, Thread.customer_id.in_(visible)
    )


async def may_handle(session: AsyncSession, *, actor: Member, thread: Thread) -> bool:
    """Return whether ``actor`` may see and answer ``thread``."""
    if thread.workspace_id != actor.workspace_id:
        return False
    if thread.assignee_member_id == actor.id:
        return True
    return await can_see(session, actor=actor, customer_id=thread.customer_id)


async def thread_for(
    session: AsyncSession, *, actor: Member, thread_id: int, lock: bool = False
) -> tuple[Thread, Customer]:
    """Return a thread the actor may handle and its customer; ``lock`` locks the thread row.

    Raises:
        PermissionDenied: when the actor is not an active member.
        NotFound: when the thread is unknown, in another shop or outside the actor's scope.
    """
    require_role(actor, *Role)
    query = select(Thread).where(Thread.workspace_id == actor.workspace_id, Thread.id == thread_id)
    thread = await session.scalar(query.with_for_update() if lock else query)
    if thread is None or not await may_handle(session, actor=actor, thread=thread):
        raise NotFound(THREAD_NOT_FOUND, id=thread_id)
    customer = await session.get(Customer, thread.customer_id)
    assert customer is not None  # noqa: S101 - enforced by the foreign key
    return thread, customer
