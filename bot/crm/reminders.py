"""Reminders: creating them, claiming due ones for delivery, done and snooze.

A reminder row is the truth; the scheduler only wakes due rows. Delivery claims a
row by setting ``fired_at`` in a committed transaction before the message goes out,
so a reminder fires once even across restarts. Snoozing moves ``due_at`` and
clears ``fired_at`` and ``message_id``: the same row fires again at the new time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crm import audit
from bot.crm.guards import require_role
from bot.crm.models import Customer, Member, Reminder, Role, UserPref, Workspace
from bot.crm.scope import get_visible
from bot.errors import InvalidInput, NotFound
from bot.i18n import N_

MAX_TEXT = 500
CLAIM_BATCH = 50
MAX_SNOOZE_MINUTES = 30 * 24 * 60


@dataclass(frozen=True, slots=True)
class DueReminder:
    """A claimed reminder with what its message needs."""

    reminder_id: int
    chat_id: int
    locale: str
    timezone: str
    text: str
    due_at: datetime
    customer_id: int | None
    customer_name: str | None


def clean_text(text: str) -> str:
    """Return a reminder text trimmed to one tidy line.

    Raises:
        InvalidInput: when it is empty or longer than ``MAX_TEXT``.
    """
    cleaned = " ".join(text.split())
    if not cleaned:
        raise InvalidInput(N_("What should I remind you of? Add a few words after the time."))
    if len(cleaned) > MAX_TEXT:
        raise InvalidInput(N_("Please keep it under {max} characters."), max=MAX_TEXT)
    return cleaned


async def create_reminder(
    session: AsyncSession,
    *,
    actor: Member,
    customer_id: int | None,
    text: str,
    due_at: datetime,
    now: datetime,
    follow_up_id: int | None = None,
) -> Reminder:
    """Create a reminder for the actor, about a customer in their scope.

    Raises:
        PermissionDenied: when the actor is not an active member.
        NotFound: when the customer is outside the actor's scope.
        InvalidInput: when the text is unusable or the time is not in the future.
    """
    require_role(actor, Role.OWNER, Role.ADMIN, Role.STAFF)
    if customer_id is not None:
        await get_visible(session, actor=actor, customer_id=customer_id)
    if due_at <= now:
        raise InvalidInput(N_("That time has already passed. Please give a time in the future."))
    reminder = Reminder(
        workspace_id=actor.workspace_id,
        member_id=actor.id,
        customer_id=customer_id,
        follow_up_id=follow_up_id,
        text=clean_text(text),
        due_at=due_at.astimezone(UTC).replace(second=0, microsecond=0),
    )
    session.add(reminder)
    await session.flush()
    await audit.record_change(
        session, actor, "reminder.create", reminder, {"customer_id": customer_id}
    )
    return reminder


async def claim_due(
    session: AsyncSession, *, now: datetime, limit: int = CLAIM_BATCH
) -> list[DueReminder]:
    """Mark up to ``limit`` due reminders as fired and return them for sending.

    Commit before sending: a claimed reminder is never claimed again. On
    PostgreSQL ``SKIP LOCKED`` keeps two workers from claiming the same row.
    """
    rows = await session.execute(
        select(Reminder, Member, Workspace, Customer, UserPref)
        .join(Member, Member.id == Reminder.member_id)
        .join(Workspace, Workspace.id == Reminder.workspace_id)
        .outerjoin(Customer, Customer.id == Reminder.customer_id)
        .outerjoin(UserPref, UserPref.tg_user_id == Member.tg_user_id)
        .where(Reminder.done_at.is_(None), Reminder.fired_at.is_(None), Reminder.due_at <= now)
        .order_by(Reminder.due_at, Reminder.id)
        .limit(limit)
        .with_for_update(of=Reminder, skip_locked=True)
    )
    claimed: list[DueReminder] = []
    for reminder, member, workspace, customer, pref in rows:
        reminder.fired_at = now
        if not member.active:
            continue
        claimed.append(
            DueReminder(
                reminder_id=reminder.id,
                chat_id=member.chat_id,
                locale=pref.locale if pref else workspace.locale,
                timezone=workspace.timezone,
                text=reminder.text,
                due_at=reminder.due_at,
                customer_id=customer.id if customer else None,
                customer_name=customer.name if customer else None,
            )
        )
    await session.flush()
    return claimed


async def mark_sent(session: AsyncSession, *, reminder_id: int, message_id: int) -> None:
    """Remember which message carried a fired reminder."""
    await session.execute(
        update(Reminder).where(Reminder.id == reminder_id).values(message_id=message_id)
    )


async def mark_done(
    session: AsyncSession, *, actor: Member, reminder_id: int, now: datetime
) -> Reminder:
    """Mark one of the actor's reminders as done.

    Raises:
        NotFound: when the reminder is not the actor's.
    """
    reminder = await _own(session, actor=actor, reminder_id=reminder_id)
    if reminder.done_at is None:
        reminder.done_at = now
        await audit.record_change(session, actor, "reminder.done", reminder)
    return reminder


async def snooze(
    session: AsyncSession, *, actor: Member, reminder_id: int, minutes: int, now: datetime
) -> Reminder:
    """Move one of the actor's reminders ``minutes`` from now so it fires again.

    Raises:
        NotFound: when the reminder is not the actor's.
        InvalidInput: when ``minutes`` is out of range.
    """
    if not 0 < minutes <= MAX_SNOOZE_MINUTES:
        raise InvalidInput(N_("I can snooze for up to 30 days."))
    reminder = await _own(session, actor=actor, reminder_id=reminder_id)
    reminder.due_at = (now + timedelta(minutes=minutes)).replace(second=0, microsecond=0)
    reminder.fired_at = None
    reminder.done_at = None
    reminder.message_id = None
    await audit.record_change(session, actor, "reminder.snooze", reminder, {"minutes": minutes})
    return reminder


async def _own(session: AsyncSession, *, actor: Member, reminder_id: int) -> Reminder:
    reminder = await session.scalar(
        select(Reminder).where(
            Reminder.id == reminder_id,
            Reminder.workspace_id == actor.workspace_id,
            Reminder.member_id == actor.id,
        )
    )
    if reminder is None:
        raise NotFound(N_("That reminder isn't yours or no longer exists."))
    return reminder
