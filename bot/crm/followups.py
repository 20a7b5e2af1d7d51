"""Follow-ups: logging a contact, a rep's day (due, overdue, not contacted) and the digest.

The daily digest stores nothing new: a member gets one when their local time has
passed ``Member.digest_time`` and the audit log has no ``digest.sent`` entry for
them since local midnight. The entry is written in the same transaction that
claims the digest, before it is sent, so a restart never sends it twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crm import audit, reminders, workspaces
from bot.crm.guards import require_role
from bot.crm.models import (
    AuditLog,
    Channel,
    Customer,
    FollowUp,
    Member,
    Reminder,
    Role,
    Workspace,
)
from bot.crm.scope import get_visible, members_within_reach
from bot.errors import InvalidInput
from bot.i18n import N_
from bot.localtime import clean_hhmm, local_day, local_midnight, parse_hhmm, zone

STALE_AFTER = timedelta(days=7)
LIST_CAP = 10
TEAM_ITEMS = 3
MAX_SUMMARY = 2000
DIGEST_ACTION = "digest.sent"


@dataclass(frozen=True, slots=True)
class DueItem:
    """A reminder due today or overdue."""

    reminder_id: int
    customer_id: int | None
    customer_name: str | None
    text: str
    due_at: datetime
    overdue: bool


@dataclass(frozen=True, slots=True)
class StaleItem:
    """A customer not contacted for ``STALE_AFTER``, or added that long ago and never contacted."""

    customer_id: int
    name: str
    last_contact_at: datetime | None


@dataclass(frozen=True, slots=True)
class Agenda:
    """One member's day: capped lists plus the full counts."""

    member_id: int
    member_name: str
    due: tuple[DueItem, ...]
    due_total: int
    overdue_total: int
    stale: tuple[StaleItem, ...]
    stale_total: int


@dataclass(frozen=True, slots=True)
class Today:
    """What /today shows: the actor's own agenda and, for managers, one per rep."""

    mine: Agenda
    team: tuple[Agenda, ...]


async def log_followup(
    session: AsyncSession,
    *,
    actor: Member,
    customer_id: int,
    channel: Channel,
    summary: str,
    outcome: str | None,
    next_step: str | None,
    next_at: datetime | None,
    now: datetime,
) -> FollowUp:
    """Record a contact, stamp the customer's last contact and add a reminder for the next step.

    Raises:
        PermissionDenied: when the actor is not an active member.
        NotFound: when the customer is outside the actor's scope.
        InvalidInput: when the summary is empty or too long, or the next step is in the past.
    """
    require_role(actor, Role.OWNER, Role.ADMIN, Role.STAFF)
    customer = await get_visible(session, actor=actor, customer_id=customer_id)
    summary = summary.strip()
    if not summary or len(summary) > MAX_SUMMARY:
        raise InvalidInput(N_("Please describe it in 1 to {max} characters."), max=MAX_SUMMARY)
    follow_up = FollowUp(
        workspace_id=actor.workspace_id,
        customer_id=customer.id,
        member_id=actor.id,
        channel=channel,
        summary=summary,
        outcome=outcome,
        next_step=next_step,
        at=now,
    )
    session.add(follow_up)
    customer.last_contact_at = now
    await session.flush()
    details = {"customer_id": customer.id, "channel": channel.value}
    await audit.record_change(session, actor, "follow_up.create", follow_up, details)
    if next_at is not None:
        await reminders.create_reminder(
            session,
            actor=actor,
            customer_id=customer.id,
            text=next_step or "",
            due_at=next_at,
            now=now,
            follow_up_id=follow_up.id,
        )
    return follow_up


async def today(session: AsyncSession, *, actor: Member, now: datetime) -> Today:
    """Return the actor's due and overdue reminders and stale customers; per rep for managers.

    Raises:
        PermissionDenied: when the actor is not an active member.
    """
    require_role(actor, Role.OWNER, Role.ADMIN, Role.STAFF)
    tz = await workspaces.zone_of(session, actor.workspace_id)
    end = local_midnight(local_day(now, tz) + timedelta(days=1), tz)
    mine = await _agenda(session, actor, now=now, end=end)
    if actor.role is Role.STAFF:
        return Today(mine, ())
    query = select(Member).where(
        members_within_reach(actor), Member.active.is_(True), Member.id != actor.id
    )
    team = [
        await _agenda(session, rep, now=now, end=end, cap=TEAM_ITEMS, stale=False)
        for rep in await session.scalars(query.order_by(Member.id))
    ]
    return Today(mine, tuple(team))


def parse_digest_time(text: str) -> str:
    """Return a digest time as "HH:MM".

    Raises:
        InvalidInput: when it is not a time of day.
    """
    return clean_hhmm(text, hint=N_("Please send a time like 08:30, or “off”."))


async def set_digest(session: AsyncSession, *, actor: Member, digest_time: str | None) -> None:
    """Set (or with None, turn off) the local time of the actor's daily digest.

    Raises:
        PermissionDenied: when the actor is not an active member.
        InvalidInput: when the time is not "HH:MM".
    """
    require_role(actor, Role.OWNER, Role.ADMIN, Role.STAFF)
    actor.digest_time = parse_digest_time(digest_time) if digest_time is not None else None
    await audit.record_change(
        session, actor, "member.digest", actor, {"on": digest_time is not None}
    )


async def claim_digests(session: AsyncSession, *, now: datetime) -> list[Member]:
    """Return members whose digest is due today and not yet sent, recording it as sent."""
    due: list[Member] = []
    rows = await session.execute(
        select(Member, Workspace)
        .join(Workspace, Workspace.id == Member.workspace_id)
        .where(Member.active.is_(True), Member.digest_time.is_not(None))
    )
    for member, workspace in rows:
        tz = zone(workspace.timezone)
        midnight = local_midnight(now, tz)
        if now.astimezone(tz).time() < parse_hhmm(member.digest_time or "00:00"):
            continue
        sent = await session.scalar(
            select(AuditLog.id).where(
                AuditLog.workspace_id == member.workspace_id,
                AuditLog.action == DIGEST_ACTION,
                AuditLog.entity_id == member.id,
                AuditLog.at >= midnight,
            )
        )
        if sent is not None:
            continue
        session.add(
            AuditLog(
                workspace_id=member.workspace_id,
                actor_member_id=None,
                action=DIGEST_ACTION,
                entity="member",
                entity_id=member.id,
                details={"local_date": local_day(now, tz).isoformat()},
                at=now,
            )
        )
        due.append(member)
    await session.flush()
    return due


async def _agenda(
    session: AsyncSession,
    member: Member,
    *,
    now: datetime,
    end: datetime,
    cap: int = LIST_CAP,
    stale: bool = True,
) -> Agenda:
    open_due = (
        Reminder.member_id == member.id,
        Reminder.due_at < end,
        Reminder.done_at.is_(None),
        Reminder.workspace_id == member.workspace_id,
    )
    counts = (
        await session.execute(
            select(func.count(), func.count().filter(Reminder.due_at < now)).where(*open_due)
        )
    ).one()
    listed = select(Reminder, Customer.name).outerjoin(
        Customer, Customer.id == Reminder.customer_id
    )
    if not stale:
        listed = listed.where(Reminder.due_at < now)
    rows = await session.execute(listed.where(*open_due).order_by(Reminder.due_at).limit(cap))
    due = tuple(
        DueItem(r.id, r.customer_id, name, r.text, r.due_at, r.due_at < now) for r, name in rows
    )
    stale_items, stale_total = await _stale(session, member, now=now, cap=cap)
    return Agenda(
        member_id=member.id,
        member_name=member.display_name,
        due=due,
        due_total=int(counts[0]),
        overdue_total=int(counts[1]),
        stale=stale_items if stale else (),
        stale_total=stale_total,
    )


async def _stale(
    session: AsyncSession, member: Member, *, now: datetime, cap: int
) -> tuple[tuple[StaleItem, ...], int]:
    cutoff = now - STALE_AFTER
    where = (
        Customer.workspace_id == member.workspace_id,
        Customer.owner_member_id == member.id,
        Customer.erased_at.is_(None),
        # Never contacted counts from when the customer was added, not from the epoch.
        or_(
            Customer.last_contact_at < cutoff,
            and_(Customer.last_contact_at.is_(None), Customer.created_at < cutoff),
        ),
    )
    # One pass over the rep's customers: the window count rides along with the capped list.
    rows = await session.execute(
        select(Customer.id, Customer.name, Customer.last_contact_at, func.count().over())
        .where(*where)
        .order_by(Customer.last_contact_at.is_not(None), Customer.last_contact_at, Customer.id)
        .limit(cap)
    )
    items: list[StaleItem] = []
    total = 0
    for cid, name, last, count in rows:
        items.append(StaleItem(cid, name, last))
        total = int(count)
    return tuple(items), total
