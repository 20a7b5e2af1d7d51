"""Value tiers around the recompute: the nightly job, what changed, and the distribution.

The nightly job recomputes each workspace once a night, inside a quiet window of
its own local time (``NIGHT_START`` to ``NIGHT_END``), when the tiers are older
than ``MIN_AGE``. A manual ``/tiers recompute`` counts as that night's run.
Both run ``recompute_apart``: on a connection of their own, committing after each
batch of customers, so other shops' updates are not held up by the write lock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.crm import rfm, tiers
from bot.crm.guards import require_role
from bot.crm.kpi_scope import scope_for
from bot.crm.models import Customer, Member, Role, Workspace
from bot.crm.models.core import Segment, ValueTier
from bot.crm.rfm import TIER_RANK
from bot.crm.store import batches_apart, engine_of

logger = logging.getLogger(__name__)

NIGHT_START = time(3, 0)
NIGHT_END = time(9, 0)
MIN_AGE = timedelta(hours=20)
# Between two batches of writes: long enough for a waiting update to take the lock.
PAUSE = 0.02
# Workspaces recomputed by this process and when: a shop whose recompute wrote no row
# (nobody bought) is not recomputed again every tick of the same night.
LAST_RUNS: dict[int, datetime] = {}


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
    computed = await session.scalar(
        select(func.max(Customer.tiers_computed_at)).where(
            Customer.workspace_id == actor.workspace_id
        )
    )
    return Distribution(tier_counts, segment_counts, customers, computed, scope.whole_shop)


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


def is_due(now: datetime, *, tz: ZoneInfo, last: datetime | None) -> bool:
    """Return whether a workspace in zone ``tz``, last computed at ``last``, is due tonight."""
    local = now.astimezone(tz).time()
    if not NIGHT_START <= local < NIGHT_END:
        return False
    return last is None or now - last >= MIN_AGE


async def nightly_tiers(
    sessions: async_sessionmaker[AsyncSession], clock: Callable[[], datetime]
) -> None:
    """Recompute the tiers of every workspace that is due (the scheduler's job)."""
    await recompute_due(sessions, clock, last_runs=LAST_RUNS)


async def recompute_due(
    sessions: async_sessionmaker[AsyncSession],
    clock: Callable[[], datetime],
    *,
    last_runs: MutableMapping[int, datetime],
) -> list[int]:
    """Recompute the tiers of every workspace that is due; return their ids.

    ``last_runs`` remembers when this process recomputed each workspace. Each
    workspace is recomputed in its own transaction, so one failing does not hold
    back the others (it is logged and tried again on a later tick).
    """
    runs = last_runs
    now = clock()
    async with sessions() as session:
        zones = (await session.execute(select(Workspace.id, Workspace.timezone))).all()
        candidates = []
        for workspace_id, zone in zones:
            tz = _zone(zone)
            if not is_due(now, tz=tz, last=runs.get(workspace_id)):
                continue
            last = await session.scalar(
                select(func.max(Customer.tiers_computed_at)).where(
                    Customer.workspace_id == workspace_id
                )
            )
            if is_due(now, tz=tz, last=last):
                candidates.append(workspace_id)
    done = []
    for workspace_id in candidates:
        try:
            summary = await recompute_apart(engine_of(sessions), workspace_id, now=now)
        except Exception:
            logger.exception("value tiers of workspace %s not recomputed", workspace_id)
            continue
        runs[workspace_id] = now
        done.append(workspace_id)
        logger.info(
            "value tiers of workspace %s recomputed: %d buyers in %.1f s",
            workspace_id,
            summary.buyers,
            summary.seconds,
        )
    return done


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")
