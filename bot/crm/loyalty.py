"""Loyalty points: a ledger of points earned, redeemed and adjusted, whose sum is the balance.

No balance is stored: every change is a ``PointsEntry`` row and a balance is the
sum of a customer's rows, so a movement can always be explained afterwards.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crm import audit, workspaces
from bot.crm.guards import require_role
from bot.crm.models import Customer, Member, PointsEntry, PointsReason, Purchase, Role, Workspace
from bot.crm.notes import clean_note
from bot.crm.scope import get_visible
from bot.crm.store import insert_of
from bot.crm.workspaces import NumberSetting
from bot.errors import Conflict, InvalidInput
from bot.i18n import N_, P_

MAX_POINTS = 10_000_000
MAX_RATE = 1000
MAX_NOTE = 200
RATE = NumberSetting(
    "points_per_unit",
    0,
    MAX_RATE,
    N_("The rate is a whole number from 0 to {max}, like 1."),
    "points.rate",
)
LEDGER_PAGE = 5
# Stays well under SQLite's and asyncpg's limits on bound parameters per statement.
BALANCES_CHUNK = 5000


@dataclass(frozen=True, slots=True)
class Statement:
    """A customer's balance in one workspace and their latest movements, newest first."""

    customer: Customer
    workspace: Workspace
    balance: int
    entries: Sequence[PointsEntry]


@dataclass(frozen=True, slots=True)
class Moved:
    """A movement just written and the customer's balance after it."""

    customer: Customer
    entry: PointsEntry
    balance: int


def points_for(amount_minor: int, points_per_unit: int) -> int:
    """Return the points a purchase earns: whole currency units × rate, rounded down."""
    if amount_minor <= 0 or points_per_unit <= 0:
        return 0
    return amount_minor * points_per_unit // 100


async def balance(session: AsyncSession, workspace_id: int, customer_id: int) -> int:
    """Return a customer's points balance in a workspace (0 without movements)."""
    total = await session.scalar(
        select(func.coalesce(func.sum(PointsEntry.delta), 0)).where(
            PointsEntry.workspace_id == workspace_id, PointsEntry.customer_id == customer_id
        )
    )
    return int(total or 0)


async def balances(
    session: AsyncSession, workspace_id: int, customer_ids: Sequence[int]
) -> dict[int, int]:
    """Return the balance of each customer in a workspace, 0 for those without movements.

    One grouped query per 5,000 ids; pass a campaign batch at a time.
    """
    ids = list(dict.fromkeys(customer_ids))
    found = dict.fromkeys(ids, 0)
    for start in range(0, len(ids), BALANCES_CHUNK):
        rows = await session.execute(
            select(PointsEntry.customer_id, func.sum(PointsEntry.delta))
            .where(
                PointsEntry.workspace_id == workspace_id,
                PointsEntry.customer_id.in_(ids[start : start + BALANCES_CHUNK]),
            )
            .group_by(PointsEntry.customer_id)
        )
        found.update({int(cid): int(total) for cid, total in rows})
    return found


async def award_purchase(
    session: AsyncSession, *, purchase: Purchase, workspace: Workspace
) -> int:
    """Credit the points a flushed purchase earns, once; return the points credited now.

    Returns 0 when the workspace gives no points, the amount earns none, or the
    purchase has already earned its points.
    """
    points = points_for(purchase.amount_minor, workspace.points_per_unit)
    if points == 0:
        return 0
    insert = insert_of(session)
    # The unique purchase_id settles a second run (or a concurrent one) in the
    # database itself: the loser inserts nothing instead of failing the purchase.
    statement = (
        insert(PointsEntry)
        .values(
            workspace_id=purchase.workspace_id,
            customer_id=purchase.customer_id,
            delta=points,
            reason=PointsReason.PURCHASE,
            purchase_id=purchase.id,
            member_id=purchase.member_id,
            at=purchase.at,
        )
        .on_conflict_do_nothing(index_elements=[PointsEntry.purchase_id])
        .returning(PointsEntry.id)
    )
    inserted = await session.scalar(statement)
    return points if inserted is not None else 0


async def statement_of(session: AsyncSession, *, actor: Member, customer_id: int) -> Statement:
    """Return a visible customer's balance and latest movements.

    Raises:
        PermissionDenied: when the actor is no longer active.
        NotFound: when the customer is not among the actor's.
    """
    require_role(actor, *Role)
    customer = await get_visible(session, actor=actor, customer_id=customer_id)
    workspace = await workspaces.of_member(session, actor)
    return await _statement(session, workspace, customer)


async def statements_for_account(
    session: AsyncSession, *, tg_user_id: int, limit: int = 3
) -> list[Statement]:
    """Return the points of a Telegram account in each shop it belongs to, newest first."""
    result = await session.execute(
        select(Customer, Workspace)
        .join(Workspace, Workspace.id == Customer.workspace_id)
        .where(Customer.tg_user_id == tg_user_id, Customer.erased_at.is_(None))
        .order_by(Customer.created_at.desc(), Customer.id.desc())
        .limit(limit)
    )
    return [await _statement(session, ws, customer) for customer, ws in result]


async def redeem(
    session: AsyncSession,
    *,
    actor: Member,
    customer_id: int,
    points: int,
    note: str | None,
    now: datetime,
) -> Moved:
    """Take points off a visible customer's balance for something they received.

    Raises:
        PermissionDenied: when the actor is no longer active.
        NotFound: when the customer is not among the actor's.
        InvalidInput: when the points are not positive or the note too long.
        Conflict: when the customer has fewer points than asked.
    """
    require_role(actor, *Role)
    if not 0 < points <= MAX_POINTS:
        raise InvalidInput(N_("Points are a whole number above zero, like 50."))
    customer = await get_visible(session, actor=actor, customer_id=customer_id)
    note = clean_note(note, most=MAX_NOTE)
    return await _move(session, actor, customer, -points, PointsReason.REDEEM, note, now)


async def adjust(
    session: AsyncSession,
    *,
    actor: Member,
    customer_id: int,
    delta: int,
    reason: str,
    now: datetime,
) -> Moved:
    """Add or take off points by hand, with the reason kept in the ledger and the audit log.

    Raises:
        PermissionDenied: unless the actor is an active owner or admin.
        NotFound: when the customer is not among the actor's.
        InvalidInput: when the change is zero or too big, or the reason missing or too long.
        Conflict: when the balance would go below zero.
    """
    require_role(actor, Role.OWNER, Role.ADMIN)
    if delta == 0 or abs(delta) > MAX_POINTS:
        raise InvalidInput(N_("Give the change as a whole number, like +50 or -20."))
    note = clean_note(reason, most=MAX_NOTE)
    if note is None:
        raise InvalidInput(N_("Please add a reason, like: /adjust 12 +50 birthday gift"))
    customer = await get_visible(session, actor=actor, customer_id=customer_id)
    return await _move(session, actor, customer, delta, PointsReason.ADJUST, note, now)


async def set_rate(
    session: AsyncSession, *, actor: Member, workspace: Workspace, points_per_unit: int
) -> None:
    """Set how many points each whole unit of currency earns from now on (0 turns them off).

    Raises:
        PermissionDenied: unless the actor is an active owner or admin of the workspace.
        InvalidInput: when the rate is negative or above 1000.
    """
    await workspaces.set_number(
        session, actor=actor, workspace=workspace, setting=RATE, value=points_per_unit
    )


async def _move(
    session: AsyncSession,
    actor: Member,
    customer: Customer,
    delta: int,
    reason: PointsReason,
    note: str | None,
    now: datetime,
) -> Moved:
    # A no-op UPDATE takes the customer's row lock (PostgreSQL) or the write lock
    # (SQLite) before the balance is read, so two redemptions at once cannot
    # both spend the same points.
    await session.execute(
        update(Customer)
        .where(Customer.workspace_id == customer.workspace_id, Customer.id == customer.id)
        .values(updated_at=Customer.updated_at)
        .execution_options(synchronize_session=False)
    )
    current = await balance(session, customer.workspace_id, customer.id)
    if current + delta < 0:
        raise Conflict(
            P_(
                "{name} (#{id}) has {balance} point, so {points} can't come off.",
                "{name} (#{id}) has {balance} points, so {points} can't come off.",
                by="balance",
            ),
            name=customer.name,
            id=customer.id,
            balance=current,
            points=-delta,
        )
    entry = PointsEntry(
        workspace_id=customer.workspace_id,
        customer_id=customer.id,
        delta=delta,
        reason=reason,
        note=note,
        member_id=actor.id,
        at=now,
    )
    session.add(entry)
    await session.flush()
    await audit.record_change(
        session, actor, f"points.{reason.value}", customer, {"delta": delta, "entry_id": entry.id}
    )
    return Moved(customer, entry, current + delta)


async def _statement(session: AsyncSession, workspace: Workspace, customer: Customer) -> Statement:
    result = await session.execute(
        select(PointsEntry)
        .where(PointsEntry.workspace_id == workspace.id, PointsEntry.customer_id == customer.id)
        .order_by(PointsEntry.at.desc(), PointsEntry.id.desc())
        .limit(LEDGER_PAGE)
    )
    total = await balance(session, workspace.id, customer.id)
    return Statement(customer, workspace, total, result.scalars().all())
