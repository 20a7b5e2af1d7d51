"""Re-evaluate the waiting rows of a shop's open runs when its quiet hours or cap change.

The feeder defers a row met in quiet hours to ``quiet_until`` (``not_before_at``,
reason ``quiet_hours``). When the shop changes its quiet hours those moments are
recomputed with the same function at once, so a row no longer in quiet hours is
due now, instead of waiting for the old morning.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.campaigns.quiet import quiet_until
from bot.crm.models import CampaignRun, Customer, OutboxMessage, OutboxStatus, RunStatus, Workspace

QUIET_HOURS = "quiet_hours"
SEND_ANYWAY = "send_anyway"
OPEN = (RunStatus.RUNNING, RunStatus.PAUSED)


async def recompute_quiet(session: AsyncSession, workspace: Workspace, *, now: datetime) -> int:
    """Recompute ``not_before_at`` of the shop's rows held by quiet hours; return how many
    are due now."""
    row = OutboxMessage
    result = await session.execute(
        select(row.id, Customer.timezone)
        .join(Customer, Customer.id == row.customer_id)
        .join(CampaignRun, CampaignRun.id == row.run_id)
        .where(
            CampaignRun.workspace_id == workspace.id,
            CampaignRun.status.in_(OPEN),
            row.status == OutboxStatus.PENDING,
            row.reason == QUIET_HOURS,
        )
    )
    released = 0
    for row_id, tz_name in result.all():
        wait = quiet_until(
            now, tz_name or workspace.timezone, workspace.quiet_start, workspace.quiet_end
        )
        released += wait is None
        await session.execute(
            update(row)
            .where(row.id == row_id, row.status == OutboxStatus.PENDING)
            .values(
                not_before_at=wait,
                reason=QUIET_HOURS if wait is not None else None,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
    return released


async def send_anyway(session: AsyncSession, run_id: int, *, now: datetime) -> int:
    """Make the run's waiting rows due now, past quiet hours; return how many."""
    row = OutboxMessage
    result = await session.execute(
        update(row)
        .where(row.run_id == run_id, row.status == OutboxStatus.PENDING)
        .values(not_before_at=now, reason=SEND_ANYWAY, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
