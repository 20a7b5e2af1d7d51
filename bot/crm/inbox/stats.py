"""Response figures: median first-response time and unanswered conversations, per rep.

The first response time of a conversation is from its first customer message to
the shop's first answer; the median is over the conversations opened in the
window that were answered. Unanswered conversations are counted as they are now
(open, with a customer message nobody answered), whatever the window. Figures go
to the conversation's assignee; those with none are under ``member_id`` None.

Scope as ``/stats``: the owner and admins count the shop (a team-limited admin
their team's customers and the pool), staff their own conversations.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crm.guards import require_role
from bot.crm.models import Customer, Member, Role, Thread, ThreadStatus
from bot.crm.scope import visible_customers


@dataclass(frozen=True, slots=True)
class RepFigures:
    """One rep's response figures (``member_id`` None: conversations nobody was assigned)."""

    member_id: int | None
    member_name: str | None
    answered: int
    median_first_response: timedelta | None
    unanswered: int


@dataclass(frozen=True, slots=True)
class ResponseStats:
    """The window's figures for everyone in scope, and per rep."""

    start: datetime
    end: datetime
    answered: int
    median_first_response: timedelta | None
    unanswered: int
    reps: tuple[RepFigures, ...]


async def response_stats(
    session: AsyncSession, *, actor: Member, start: datetime, end: datetime
) -> ResponseStats:
    """Return first-response medians over ``[start, end)`` and unanswered conversations now.

    Raises:
        PermissionDenied: when the actor is not an active member.
    """
    require_role(actor, *Role)
    scope = _scope(actor)
    answered = await session.execute(
        select(Thread.assignee_member_id, Thread.opened_at, Thread.first_response_at).where(
            scope,
            Thread.opened_at >= start,
            Thread.opened_at < end,
            Thread.first_response_at.is_not(None),
        )
    )
    times: dict[int | None, list[timedelta]] = defaultdict(list)
    for member_id, opened_at, first_at in answered:
        assert first_at is not None  # noqa: S101 - filtered above
        times[member_id].append(first_at - opened_at)
    waiting = await session.execute(
        select(Thread.assignee_member_id).where(
            scope, Thread.status == ThreadStatus.OPEN, Thread.waiting_since.is_not(None)
        )
    )
    unanswered: dict[int | None, int] = defaultdict(int)
    for (member_id,) in waiting:
        unanswered[member_id] += 1
    ids = set(times) | set(unanswered)
    names = await _names(session, actor, {i for i in ids if i is not None})
    reps = tuple(
        RepFigures(
            member_id=i,
            member_name=names.get(i) if i is not None else None,
            answered=len(times[i]),
            median_first_response=_median(times[i]),
            unanswered=unanswered[i],
        )
        for i in sorted(ids, key=lambda i: (i is None, names.get(i or 0, ""), i or 0))
    )
    everyone = [t for spans in times.values() for t in spans]
    return ResponseStats(
        start=start,
        end=end,
        answered=len(everyone),
        median_first_response=_median(everyone),
        unanswered=sum(unanswered.values()),
        reps=reps,
    )


def _scope(actor: Member) -> ColumnElement[bool]:
    if actor.role is Role.STAFF:
        return (Thread.workspace_id == actor.workspace_id) & (
            Thread.assignee_member_id == actor.id
        )
    visible = visible_customers(actor).with_only_columns(Customer.id)
    return (Thread.workspace_id == actor.workspace_id) & Thread.customer_id.in_(visible)


async def _names(session: AsyncSession, actor: Member, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await session.execute(
        select(Member.id, Member.display_name).where(
            Member.workspace_id == actor.workspace_id, Member.id.in_(ids)
        )
    )
    return dict(rows.all())


def _median(spans: list[timedelta]) -> timedelta | None:
    if not spans:
        return None
    return timedelta(seconds=median(t.total_seconds() for t in spans))
