"""Leads: pipeline stages, the unowned lead pool, assignment and return of stale leads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crm import audit, workspaces
from bot.crm.guards import require_role
from bot.crm.models import Customer, CustomerKind, Member, Role, Workspace
from bot.crm.scope import get_visible, within_reach
from bot.crm.workspaces import NumberSetting
from bot.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from bot.i18n import LOCALES, N_, translate

STAGES = ("new", "contacted", "qualified", "won", "lost")
DEFAULT_LABELS = {
    "new": N_("New"),
    "contacted": N_("Contacted"),
    "qualified": N_("Qualified"),
    "won": N_("Won"),
    "lost": N_("Lost"),
}
MAX_LABEL = 24
MAX_RETURN_DAYS = 365
POOL_PAGE = 10
RETURN_DAYS = NumberSetting(
    "lead_return_days",
    0,
    MAX_RETURN_DAYS,
    N_("Please give a number of days from 0 to {max}."),
    "workspace.lead_return_days",
)


@dataclass(frozen=True, slots=True)
class StageChange:
    """A customer moved between stages, and whether that made a lead a customer."""

    customer: Customer
    previous: str
    converted: bool


@dataclass(frozen=True, slots=True)
class ReturnedLead:
    """A lead taken back into the pool, with what is needed to tell its former rep."""

    workspace_id: int
    member_id: int
    chat_id: int
    tg_user_id: int
    customer_id: int
    name: str
    days: int


def stage_label(workspace: Workspace, key: str) -> str | None:
    """Return the merchant's own label for a stage, or None when it keeps the default."""
    label = (workspace.stage_labels or {}).get(key)
    return str(label) if label else None


def resolve_stage(workspace: Workspace, text: str) -> str:
    """Return the stage key typed as a key, the merchant's label or the default label.

    Raises:
        InvalidInput: when no stage matches.
    """
    wanted = " ".join(text.split()).casefold()
    for key in STAGES:
        names = {key} | {translate(locale, DEFAULT_LABELS[key]).casefold() for locale in LOCALES}
        label = stage_label(workspace, key)
        if label:
            names.add(label.casefold())
        if wanted in names:
            return key
    raise InvalidInput(
        N_("There's no stage called “{stage}”. Send /stages to see them."), stage=text.strip()
    )


async def rename_stage(
    session: AsyncSession, *, actor: Member, workspace: Workspace, key: str, label: str
) -> None:
    """Give a fixed stage the merchant's own label (an empty label restores the default).

    Raises:
        PermissionDenied: when the actor is not an owner or admin.
        InvalidInput: when the stage is unknown or the label too long or taken.
    """
    require_role(actor, Role.OWNER, Role.ADMIN)
    key = resolve_stage(workspace, key)
    label = " ".join(label.split())
    if len(label) > MAX_LABEL or label.startswith("/"):
        raise InvalidInput(N_("Please keep a stage name under {max} characters."), max=MAX_LABEL)
    labels = {k: v for k, v in (workspace.stage_labels or {}).items() if k != key}
    taken = {str(v).casefold() for v in labels.values()} | {k for k in STAGES if k != key}
    if label.casefold() in taken:
        raise InvalidInput(N_("Another stage is already called “{label}”."), label=label)
    if label:
        labels[key] = label
    workspace.stage_labels = labels
    await audit.record_change(session, actor, "stage.rename", workspace, {"stage": key})


async def move_stage(
    session: AsyncSession, *, actor: Member, customer_id: int, stage: str
) -> StageChange:
    """Move a visible customer to ``stage``; reaching won makes a lead a customer.

    Raises:
        NotFound: when the customer is not among the actor's.
        InvalidInput: when ``stage`` is not a stage key.
    """
    if stage not in STAGES:
        raise InvalidInput(N_("That stage doesn't exist."))
    customer = await get_visible(session, actor=actor, customer_id=customer_id)
    previous = customer.stage
    customer.stage = stage
    converted = stage == "won" and customer.kind is CustomerKind.LEAD
    if converted:
        customer.kind = CustomerKind.CUSTOMER
    details = {"from": previous, "to": stage, "converted": converted}
    await audit.record_change(session, actor, "customer.stage", customer, details)
    return StageChange(customer, previous, converted)


async def list_pool(
    session: AsyncSession, *, actor: Member, offset: int = 0
) -> tuple[Sequence[Customer], int]:
    """Return a page of the unowned leads of the actor's workspace, oldest first, and their count.

    The page starts ``offset`` leads in.
    """
    require_role(actor, *Role)
    where = (
        Customer.workspace_id == actor.workspace_id,
        Customer.owner_member_id.is_(None),
        Customer.kind == CustomerKind.LEAD,
    )
    total = await session.scalar(select(func.count()).select_from(Customer).where(*where))
    result = await session.execute(
        select(Customer).where(*where).order_by(Customer.id).offset(offset).limit(POOL_PAGE)
    )
    return result.scalars().all(), int(total or 0)


async def claim_lead(
    session: AsyncSession, *, actor: Member, customer_id: int, now: datetime
) -> Customer:
    """Make an unowned lead of the pool the actor's own.

    Raises:
        NotFound: when no such lead is in the actor's workspace.
        Conflict: when someone already owns it.
    """
    require_role(actor, *Role)
    customer = await session.scalar(
        select(Customer)
        .where(Customer.workspace_id == actor.workspace_id, Customer.id == customer_id)
        .with_for_update()
    )
    if customer is None:
        raise NotFound(N_("There's no lead #{id} in the pool."), id=customer_id)
    if customer.owner_member_id is not None:
        raise Conflict(N_("Lead #{id} has already been taken."), id=customer_id)
    await _set_owner(session, actor=actor, customer=customer, owner=actor, now=now)
    return customer


async def assign_customer(
    session: AsyncSession, *, actor: Member, customer_id: int, owner: Member, now: datetime
) -> int | None:
    """Give a visible customer (a pool lead or another rep's) to ``owner``; return the old owner.

    Raises:
        PermissionDenied: when the actor is not an owner or admin, or ``owner`` is outside
            a team-limited admin's team.
        NotFound: when the customer is not among the actor's.
        Conflict: when ``owner`` already owns the customer.
    """
    require_role(actor, Role.OWNER, Role.ADMIN)
    check_assignable(actor, owner)
    customer = await get_visible(session, actor=actor, customer_id=customer_id)
    previous = customer.owner_member_id
    if previous == owner.id:
        raise Conflict(
            N_("{member} already has customer #{id}."), member=owner.display_name, id=customer_id
        )
    await _set_owner(session, actor=actor, customer=customer, owner=owner, now=now)
    return previous


async def count_owned_by(session: AsyncSession, member: Member) -> int:
    """Return how many customers ``member`` owns in their workspace."""
    count = await session.scalar(
        select(func.count())
        .select_from(Customer)
        .where(Customer.workspace_id == member.workspace_id, Customer.owner_member_id == member.id)
    )
    return int(count or 0)


def check_assignable(actor: Member, owner: Member) -> None:
    """Refuse an inactive or foreign ``owner``, or one outside a team-limited admin's team.

    Raises:
        PermissionDenied: when ``owner`` may not receive customers from ``actor``.
    """
    if not owner.active or not within_reach(actor, owner):
        raise PermissionDenied(N_("{member} isn't on your team."), member=owner.display_name)


async def _set_owner(
    session: AsyncSession, *, actor: Member, customer: Customer, owner: Member, now: datetime
) -> None:
    previous = customer.owner_member_id
    customer.owner_member_id = owner.id
    customer.owner_assigned_at = now
    details = {"from_member_id": previous, "to_member_id": owner.id}
    await audit.record_change(session, actor, "customer.assign", customer, details)


async def set_return_days(
    session: AsyncSession, *, actor: Member, workspace: Workspace, days: int
) -> None:
    """Set after how many days without follow-up a rep's lead returns to the pool (0: never).

    Raises:
        PermissionDenied: when the actor is not an owner or admin.
        InvalidInput: when ``days`` is outside 0…365.
    """
    await workspaces.set_number(
        session, actor=actor, workspace=workspace, setting=RETURN_DAYS, value=days
    )


async def return_stale_leads(session: AsyncSession, *, now: datetime) -> list[ReturnedLead]:
    """Put owned leads without follow-up for their workspace's N days back into the pool.

    Last activity is the later of the last contact and the assignment (the
    record's creation when it was never assigned). Won and lost leads stay put;
    N = 0 turns the return off for a workspace.
    """
    returned: list[ReturnedLead] = []
    workspaces = await session.execute(select(Workspace).where(Workspace.lead_return_days > 0))
    for workspace in workspaces.scalars().all():
        cutoff = now - timedelta(days=workspace.lead_return_days)
        rows = await session.execute(
            select(Customer, Member)
            .join(Member, Member.id == Customer.owner_member_id)
            .where(
                Customer.workspace_id == workspace.id,
                Customer.kind == CustomerKind.LEAD,
                Customer.stage.not_in(("won", "lost")),
                or_(Customer.last_contact_at.is_(None), Customer.last_contact_at < cutoff),
                func.coalesce(Customer.owner_assigned_at, Customer.created_at) < cutoff,
            )
            .order_by(Customer.id)
            .with_for_update(of=Customer)
        )
        for customer, member in rows.all():
            customer.owner_member_id = None
            customer.owner_assigned_at = None
            details = {"from_member_id": member.id, "days": workspace.lead_return_days}
            await audit.record_system(session, "lead.return", customer, details)
            returned.append(
                ReturnedLead(
                    workspace_id=workspace.id,
                    member_id=member.id,
                    chat_id=member.chat_id,
                    tg_user_id=member.tg_user_id,
                    customer_id=customer.id,
                    name=customer.name,
                    days=workspace.lead_return_days,
                )
            )
    await session.flush()
    return returned
