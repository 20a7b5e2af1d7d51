"""Complaints: opening, assigning, taking, resolving and reopening them, and overdue reminders.

A complaint goes to the customer's owner rep while that rep is active, else to the
shop's owner (or an admin). It is due ``complaint_sla_hours`` after it was opened;
an overdue complaint reminds its assignee once, then again every ``REMIND_EVERY``
while it stays unresolved, so a forgotten complaint nags without spamming.
A customer who says a resolved complaint is not resolved opens it again, due anew.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crm import audit, members, workspaces
from bot.crm.guards import require_role
from bot.crm.models import (
    Complaint,
    ComplaintStatus,
    Customer,
    Member,
    Role,
    SurveyAnswer,
    Workspace,
)
from bot.crm.scope import can_see, seen_by, team_limited
from bot.crm.workspaces import NumberSetting
from bot.errors import Conflict, InvalidInput, NotFound
from bot.i18n import N_

MAX_TEXT = 2000
MAX_RESOLUTION = 1000
MAX_SLA_HOURS = 24 * 30
REMIND_EVERY = timedelta(hours=24)
SOURCES = ("customer", "survey")
SLA_HOURS = NumberSetting(
    "complaint_sla_hours",
    1,
    MAX_SLA_HOURS,
    N_("Give the hours as a number from 1 to {max}."),
    "complaint.sla",
)


@dataclass(frozen=True, slots=True)
class Opened:
    """A complaint just opened, its customer and the member it went to (None: nobody)."""

    complaint: Complaint
    customer: Customer
    assignee: Member | None


@dataclass(frozen=True, slots=True)
class Reopened:
    """A complaint its customer opened again, and the members to tell (handler, owner)."""

    complaint: Complaint
    customer: Customer
    workspace: Workspace
    told: tuple[Member, ...]


@dataclass(frozen=True, slots=True)
class Overdue:
    """An overdue complaint claimed for a reminder, with where to send it."""

    complaint_id: int
    customer_id: int
    customer_name: str
    due_at: datetime
    chat_id: int
    locale: str
    timezone: str


async def open_complaint(
    session: AsyncSession,
    *,
    workspace_id: int,
    customer_id: int,
    text: str | None,
    photo_file_id: str | None,
    source: str,
    now: datetime,
) -> Opened:
    """Open a complaint for a customer, assign it and set its due time from the shop's SLA.

    Raises:
        NotFound: when the customer is not in the workspace.
        InvalidInput: when the text is too long.
    """
    customer = await session.scalar(
        select(Customer).where(Customer.workspace_id == workspace_id, Customer.id == customer_id)
    )
    workspace = await session.get(Workspace, workspace_id)
    if customer is None or workspace is None:
        raise NotFound(N_("That customer isn't in this shop."))
    text = clean_text(text, MAX_TEXT) if text else None
    assignee = await assignee_for(session, customer)
    complaint = Complaint(
        workspace_id=workspace_id,
        customer_id=customer.id,
        assigned_member_id=assignee.id if assignee else None,
        status=ComplaintStatus.OPEN,
        source=source if source in SOURCES else "customer",
        text=text,
        photo_file_id=photo_file_id,
        due_at=now + timedelta(hours=workspace.complaint_sla_hours),
        created_at=now,
    )
    session.add(complaint)
    await session.flush()
    return Opened(complaint, customer, assignee)


async def add_detail(
    session: AsyncSession, *, workspace_id: int, complaint_id: int, text: str
) -> Complaint:
    """Append the customer's extra words (a survey comment) to an unresolved complaint."""
    complaint = await _in_workspace(session, workspace_id, complaint_id)
    extra = clean_text(text, MAX_TEXT)
    joined = f"{complaint.text}\n{extra}" if complaint.text else extra
    complaint.text = joined[:MAX_TEXT]
    return complaint


async def assignee_for(session: AsyncSession, customer: Customer) -> Member | None:
    """Return the customer's active owner rep, else the shop's owner, else an admin.

    An admin limited to a team is only chosen for a customer within their team's scope.
    """
    if customer.owner_member_id is not None:
        rep = await session.get(Member, customer.owner_member_id)
        if rep is not None and rep.active and rep.workspace_id == customer.workspace_id:
            return rep
    for manager in await members.managers_of(session, workspace_id=customer.workspace_id):
        if await _may_handle(session, manager, customer):
            return manager
    return None


async def list_for(
    session: AsyncSession, *, actor: Member, limit: int = 20
) -> list[tuple[Complaint, Customer]]:
    """Return the unresolved complaints the actor handles (staff) or may see (managers).

    A team-limited admin sees only the complaints of customers within their team's scope.
    """
    require_role(actor, *Role)
    query = (
        select(Complaint, Customer)
        .join(Customer, Customer.id == Complaint.customer_id)
        .where(
            Complaint.workspace_id == actor.workspace_id,
            Complaint.status != ComplaintStatus.RESOLVED,
        )
        .order_by(Complaint.due_at, Complaint.id)
        .limit(limit)
    )
    if actor.role is Role.STAFF:
        query = query.where(Complaint.assigned_member_id == actor.id)
    else:
        query = query.where(*seen_by(actor, Complaint.customer_id))
    result = await session.execute(query)
    return [(complaint, customer) for complaint, customer in result]


async def get_for(
    session: AsyncSession, *, actor: Member, complaint_id: int
) -> tuple[Complaint, Customer]:
    """Return a complaint the actor may see with its customer.

    Raises:
        PermissionDenied: when the actor is inactive.
        NotFound: when it is not in the actor's workspace, (staff) not assigned to them, or
            (a team-limited admin) about a customer outside their team's scope.
    """
    require_role(actor, *Role)
    complaint = await _in_workspace(session, actor.workspace_id, complaint_id)
    mine = complaint.assigned_member_id == actor.id
    if (actor.role is Role.STAFF and not mine) or not await _may_handle(session, actor, complaint):
        raise NotFound(N_("There's no complaint #{id} for you."), id=complaint_id)
    customer = await session.get(Customer, complaint.customer_id)
    assert customer is not None  # noqa: S101 - enforced by the foreign key
    return complaint, customer


async def take(
    session: AsyncSession, *, actor: Member, complaint_id: int, now: datetime
) -> tuple[Complaint, Customer]:
    """Mark a complaint in progress and make the actor its assignee.

    Raises:
        NotFound: when the actor may not see it.
        Conflict: when it is already resolved.
    """
    complaint, customer = await get_for(session, actor=actor, complaint_id=complaint_id)
    if complaint.status is ComplaintStatus.RESOLVED:
        raise Conflict(N_("Complaint #{id} is already resolved."), id=complaint.id)
    previous = complaint.assigned_member_id
    complaint.status = ComplaintStatus.IN_PROGRESS
    complaint.assigned_member_id = actor.id
    await _audit(session, actor, "complaint.take", complaint, previous_member_id=previous)
    return complaint, customer


async def resolve(
    session: AsyncSession, *, actor: Member, complaint_id: int, resolution: str, now: datetime
) -> tuple[Complaint, Customer]:
    """Close a complaint with what was done about it.

    Raises:
        NotFound: when the actor may not see it.
        InvalidInput: when the resolution is empty or too long.
        Conflict: when it is already resolved.
    """
    complaint, customer = await get_for(session, actor=actor, complaint_id=complaint_id)
    if complaint.status is ComplaintStatus.RESOLVED:
        raise Conflict(N_("Complaint #{id} is already resolved."), id=complaint.id)
    complaint.resolution = clean_text(resolution, MAX_RESOLUTION)
    complaint.status = ComplaintStatus.RESOLVED
    complaint.resolved_at = now
    await _audit(session, actor, "complaint.resolve", complaint)
    return complaint, customer


async def reopen(
    session: AsyncSession, *, customer: Customer, complaint_id: int, now: datetime
) -> Reopened:
    """Open the customer's resolved complaint again, due anew, and say whom to tell.

    The customer is the actor (no member), so the audit entry is the bot's, marked
    ``by: customer``. The complaint keeps its handler while they may still handle
    it, else goes to whoever a new one would; the shop's owner is told too.

    Raises:
        NotFound: when the complaint is not this customer's.
        Conflict: when it is not resolved.
    """
    complaint = await _in_workspace(session, customer.workspace_id, complaint_id)
    if complaint.customer_id != customer.id:
        raise NotFound(N_("There's no complaint #{id} for you."), id=complaint_id)
    if complaint.status is not ComplaintStatus.RESOLVED:
        raise Conflict(N_("Complaint #{id} is open already."), id=complaint.id)
    workspace = await session.get(Workspace, complaint.workspace_id)
    assert workspace is not None  # noqa: S101 - enforced by the foreign key
    complaint.status = ComplaintStatus.OPEN
    complaint.resolved_at = None
    complaint.due_at = now + timedelta(hours=workspace.complaint_sla_hours)
    complaint.overdue_reminded_at = None
    handler = await _current_assignee(session, complaint, customer)
    owners = await members.owners_of(session, workspace_id=workspace.id)
    told = tuple({m.id: m for m in (handler, *owners[:1]) if m is not None}.values())
    await audit.record_system(
        session,
        "complaint.reopen",
        complaint,
        {"status": complaint.status.value, "by": "customer"},
    )
    await session.flush()
    return Reopened(complaint, customer, workspace, told)


async def answer_again(
    session: AsyncSession, *, answer: SurveyAnswer, score: int, now: datetime
) -> bool:
    """Replace the customer's yes/no to a complaint resolved again since they gave it.

    Returns False, changing nothing, when the answer is to the latest resolution
    already (a second tap on the same buttons).
    """
    complaint = await _in_workspace(session, answer.workspace_id, answer.complaint_id or 0)
    if complaint.resolved_at is None or complaint.resolved_at <= answer.at:
        return False
    answer.score, answer.at = score, now
    await session.flush()
    return True


async def set_sla(
    session: AsyncSession, *, actor: Member, workspace: Workspace, hours: int
) -> None:
    """Set how many hours a complaint may stay unresolved (owner or admin).

    Raises:
        PermissionDenied: when the actor is not the owner or an admin.
        InvalidInput: when the hours are outside 1 to ``MAX_SLA_HOURS``.
    """
    await workspaces.set_number(
        session, actor=actor, workspace=workspace, setting=SLA_HOURS, value=hours
    )


async def claim_overdue(
    session: AsyncSession, *, now: datetime, limit: int = 200
) -> list[Overdue]:
    """Mark overdue complaints as reminded now and return where each reminder goes.

    A complaint is due a reminder when it is past ``due_at`` and was never reminded,
    or was last reminded ``REMIND_EVERY`` ago. One whose assignee left, or is an admin
    whose team no longer reaches the customer, goes to the customer's new assignee
    (reassigned here).
    """
    result = await session.execute(
        select(Complaint, Customer, Workspace)
        .join(Customer, Customer.id == Complaint.customer_id)
        .join(Workspace, Workspace.id == Complaint.workspace_id)
        .where(
            Complaint.status != ComplaintStatus.RESOLVED,
            Complaint.due_at <= now,
            or_(
                Complaint.overdue_reminded_at.is_(None),
                Complaint.overdue_reminded_at <= now - REMIND_EVERY,
            ),
        )
        .order_by(Complaint.due_at, Complaint.id)
        .limit(limit)
    )
    claimed: list[Overdue] = []
    for complaint, customer, workspace in result.all():
        complaint.overdue_reminded_at = now
        assignee = await _current_assignee(session, complaint, customer)
        if assignee is None:
            continue
        locale = await members.locale_of(
            session, tg_user_id=assignee.tg_user_id, workspace_id=workspace.id
        )
        claimed.append(
            Overdue(
                complaint.id,
                customer.id,
                customer.name,
                complaint.due_at,
                assignee.chat_id,
                locale,
                workspace.timezone,
            )
        )
    await session.flush()
    return claimed


def clean_text(text: str | None, limit: int) -> str:
    """Return trimmed text, or refuse an empty or too long one."""
    value = (text or "").strip()
    if not value or len(value) > limit:
        raise InvalidInput(N_("Please write 1 to {max} characters."), max=limit)
    return value


async def _current_assignee(
    session: AsyncSession, complaint: Complaint, customer: Customer
) -> Member | None:
    if complaint.assigned_member_id is not None:
        member = await session.get(Member, complaint.assigned_member_id)
        if member is not None and member.active and await _may_handle(session, member, customer):
            return member
    assignee = await assignee_for(session, customer)
    complaint.assigned_member_id = assignee.id if assignee else None
    return assignee


async def _may_handle(session: AsyncSession, member: Member, about: Customer | Complaint) -> bool:
    """Return False for a team-limited admin and a customer outside their team's scope."""
    if not team_limited(member):
        return True
    customer_id = about.id if isinstance(about, Customer) else about.customer_id
    return await can_see(session, actor=member, customer_id=customer_id)


async def _in_workspace(session: AsyncSession, workspace_id: int, complaint_id: int) -> Complaint:
    complaint = await session.scalar(
        select(Complaint).where(
            Complaint.workspace_id == workspace_id, Complaint.id == complaint_id
        )
    )
    if complaint is None:
        raise NotFound(N_("There's no complaint #{id} for you."), id=complaint_id)
    return complaint


async def _audit(
    session: AsyncSession, actor: Member, action: str, complaint: Complaint, **details: object
) -> None:
    await audit.record_change(
        session, actor, action, complaint, {"status": complaint.status.value, **details}
    )
