"""Shop-wide campaign limits: quiet hours and the per-customer message cap."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.campaigns.delivery.requeue import recompute_quiet
from bot.crm import audit, workspaces
from bot.crm.guards import require_role
from bot.crm.models import Member, Role, Workspace, utcnow
from bot.errors import InvalidInput
from bot.i18n import N_
from bot.localtime import clean_hhmm

MAX_CAP_MESSAGES = 50
MAX_CAP_DAYS = 60


async def set_quiet_hours(
    session: AsyncSession,
    *,
    actor: Member,
    start: str | None,
    end: str | None,
    now: datetime | None = None,
) -> Workspace:
    """Set the shop's quiet hours (local "HH:MM"), or turn them off with None.

    Messages already held by the old quiet hours are re-timed at once.

    Raises:
        PermissionDenied: when the actor is not the owner or an admin.
        InvalidInput: when a time is not HH:MM or both are equal.
    """
    require_role(actor, Role.OWNER, Role.ADMIN)
    workspace = await workspaces.of_member(session, actor)
    if start is None or end is None:
        # Equal start and end mean "no quiet hours" (see Workspace.quiet_start).
        start = end = "00:00"
    else:
        start, end = clean_hhmm(start), clean_hhmm(end)
        if start == end:
            raise InvalidInput(N_("Quiet hours need different start and end times."))
    workspace.quiet_start, workspace.quiet_end = start, end
    await audit.record_change(
        session, actor, "workspace.quiet_hours", workspace, {"start": start, "end": end}
    )
    await recompute_quiet(session, workspace, now=now or utcnow())
    return workspace


async def set_cap(
    session: AsyncSession,
    *,
    actor: Member,
    messages: int,
    days: int,
    now: datetime | None = None,
) -> Workspace:
    """Set the per-customer cap: at most ``messages`` campaign messages in ``days`` days.

    Held messages are re-timed at once; each waiting message meets the new cap when it
    is taken for sending.

    Raises:
        PermissionDenied: when the actor is not the owner or an admin.
        InvalidInput: when a number is out of range.
    """
    require_role(actor, Role.OWNER, Role.ADMIN)
    if not (1 <= messages <= MAX_CAP_MESSAGES and 1 <= days <= MAX_CAP_DAYS):
        raise InvalidInput(
            N_("Please give 1 to {max_messages} messages in 1 to {max_days} days, like /cap 2 7."),
            max_messages=MAX_CAP_MESSAGES,
            max_days=MAX_CAP_DAYS,
        )
    workspace = await workspaces.of_member(session, actor)
    workspace.campaign_cap_messages, workspace.campaign_cap_days = messages, days
    await audit.record_change(
        session, actor, "workspace.cap", workspace, {"messages": messages, "days": days}
    )
    await recompute_quiet(session, workspace, now=now or utcnow())
    return workspace
