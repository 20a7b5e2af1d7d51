"""Value tiers around a recompute: running it apart, what it changed, and the distribution.

The nightly job (``bot.jobs.tiers``) and a manual ``/tiers recompute`` both run
``recompute_apart``: on a connection of their own, committing after each batch
of customers, so other shops' updates are not held up by the write lock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.crm import rfm, tiers
from bot.crm.guards import require_role
from bot.crm.kpi_scope import scope_for
from bot.crm.models import Customer, Member, Role
from bot.crm.models.core import Segment, ValueTier
from bot.crm.rfm import TIER_RANK
from bot.crm.store import batches_apart

# Between two batches of writes: long enough for a waiting update to take the lock.
PAUSE = 0.02


@dataclass(frozen=True, slots=True)
class TierChanges:
    """How many customers a recompute moved: up or down a tier, or into one for the first time."""

    up: int
    down: int
    first: int

    @property
    def total(self) -> int:
        """Return how many customers changed tier in all."""
        return self.up + self.down + self.first


@dataclass(frozen=True, slots=True)
class Distribution:
    """How the customers in a member's scope spread over tiers and segments."""

    tiers: Mapping[ValueTier, int]
    segments: Mapping[Segment, int]
    customers: int
    computed_at: datetime | None
    whole_shop: bool


async def changes(session: AsyncSession, workspace_id: int, *, now: datetime) -> TierChanges:
    """Return how many customers the recompute at ``now`` moved to another tier."""
    rank = {tier: TIER_RANK[tier] for tier in ValueTier}
    rows = await session.execute(
        select(Customer.previous_value_tier, Customer.value_tier, func.count())
        .where(Customer.workspace_id == workspace_id, Customer.value_tier_changed_at == now)
        .group_by(Customer.previous_value_tier, Customer.value_tier)
    )
    up = down = first = 0
    for before, after, count in rows.all():
        if after is None:
            continue
        if before is None:
            first += int(count)
        elif rank[after] > rank[before]:
            up += int(count)
        else:
            down += int(count)
    return TierChanges(up=up, down=down, first=first)


async def distribution(session: AsyncSession, *, actor: Member) -> Distribution:
    """Return the tiers and segments of the customers in the actor's scope, as last computed.

    Staff count the customers they own, admins their team's, owners the whole shop.

    Raises:
        PermissionDenied: when the actor is not an active member.
    """
    scope = scope_for(actor)
    rows = await session.execute(
        select(Customer.value_tier, Customer.rfm_segment, func.count())
        .where(*scope.customers)
        .group_by(Customer.value_tier, Customer.rfm_segment)
    )
    tier_counts = dict.fromkeys(ValueTier, 0)
    segment_counts = dict.fromkeys(Segment, 0)
    customers = 0
    for tier, segment, count in rows.all():
        customers += int(count)
        if tier is not None:
            tier_counts[tier] += int(count)
        if segment is not None:
            segment_counts[segment] += int(count)
    # When the shop was last computed, whether or not the recompute touched these rows.
    computed = await last_computed(session, actor.workspace_id)
    return Distribution(tier_counts, segment_counts, customers, computed, scope.whole_shop)


async def last_computed(session: AsyncSession, workspace_id: int) -> datetime | None:
    """Return when a workspace's tiers were last recomputed (None: never)."""
    return await session.scalar(
        select(func.max(Customer.tiers_computed_at)).where(Customer.workspace_id == workspace_id)
    )


async def recompute_apart(
    engine: AsyncEngine,
    workspace_id: int,
    *,
    now: datetime,
    actor: Member | None = None,
    lapse_days: int = rfm.LAPSE_DAYS,
) -> tiers.TierSummary:
    """Recompute a workspace's tiers in transactions of its own, one per batch of customers.

    A failure leaves the batches already written in place; a later run rewrites
    every customer anyway.

    Raises:
        PermissionDenied: when ``actor`` is given and is not the owner or an admin.
        NotFound: when the workspace does not exist.
    """
    if actor is not None:
        require_role(actor, Role.OWNER, Role.ADMIN)
    async with batches_apart(engine, pause=PAUSE) as (session, between):
        return await tiers.recompute(
            session, workspace_id, now=now, lapse_days=lapse_days, between=between
        )
