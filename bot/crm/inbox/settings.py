"""Inbox settings: a shop's opening hours, reply SLA and whether replies are signed.

Opening hours are local wall-clock times in the shop's zone, ``[start, end)``;
``start > end`` wraps over midnight (18:00-02:00), no hours means always open.
``next_opening`` keeps the local start time across DST changes: a start that does
not exist that day (clocks spring forward) moves forward by the gap (02:30 becomes
03:30), and of a start that happens twice (clocks fall back) the next one counts.
A shop that never set anything has the defaults (always open, no SLA, signed).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.crm import audit
from bot.crm.guards import require_role
from bot.crm.models import InboxSettings, Member, Role, Workspace
from bot.errors import InvalidInput
from bot.i18n import N_, keyword
from bot.localtime import at_local, read_hhmm, show_hhmm, zone

HOURS_HINT = N_("Please give opening hours like 09:00-21:00, or “off” for always open.")
SLA_HINT = N_("Please give a time like 30m or 2h (up to {max} h), or “off”.")
MAX_SLA_MINUTES = 7 * 24 * 60
_DASHES = re.compile(r"\s*(?:-|–|—|~|to|至|到)\s*")
# Hours, minutes or both ("1h30m", "1小时30分钟"); a bare number is minutes.
_DURATION = re.compile(
    r"^(?:(?P<hours>\d{1,5})\s*(?:h|hr|hrs|hour|hours|小时|个小时))?"
    r"\s*(?:(?P<minutes>\d{1,5})\s*(?:m|min|mins|minute|minutes|分|分钟)?)?$"
)


@dataclass(frozen=True, slots=True)
class Hours:
    """Local opening hours ``[start, end)``; ``start > end`` wraps over midnight."""

    start: time
    end: time

    def show(self) -> str:
        """Return the hours as "HH:MM-HH:MM"."""
        return f"{show_hhmm(self.start)}-{show_hhmm(self.end)}"


@dataclass(frozen=True, slots=True)
class Settings:
    """One shop's inbox settings with the defaults filled in."""

    workspace_id: int
    timezone: str
    hours: Hours | None
    reply_sla: timedelta | None
    sign_replies: bool

    def is_open(self, now: datetime) -> bool:
        """Return whether the shop is within its opening hours at ``now``."""
        return is_open(self.hours, self.timezone, now)

    def next_opening(self, now: datetime) -> datetime:
        """Return when the shop next opens (UTC); ``now`` itself while it is open."""
        return next_opening(self.hours, self.timezone, now)


def parse_hours(text: str) -> Hours | None:
    """Read opening hours like "09:00-21:00" (None for "off").

    Raises:
        InvalidInput: when it is not two different times.
    """
    # NFKC turns full-width digits, colons, dashes and tildes into ASCII.
    cleaned = unicodedata.normalize("NFKC", text).strip().lower()
    if keyword(cleaned) == "off":
        return None
    parts = _DASHES.split(cleaned, maxsplit=1)
    if len(parts) != 2:
        raise InvalidInput(HOURS_HINT)
    start, end = read_hhmm(parts[0]), read_hhmm(parts[1])
    if start is None or end is None or start == end:
        raise InvalidInput(HOURS_HINT)
    return Hours(start, end)


def parse_sla(text: str) -> int | None:
    """Read a reply SLA like "30m", "2h", "1h30m" or "45" (minutes); None for "off".

    Raises:
        InvalidInput: when it is no duration or not between one minute and a week.
    """
    cleaned = unicodedata.normalize("NFKC", text).strip().lower()
    if keyword(cleaned) == "off":
        return None
    match = _DURATION.match(cleaned)
    if match is None or not (match["hours"] or match["minutes"]):
        raise InvalidInput(SLA_HINT, max=MAX_SLA_MINUTES // 60)
    minutes = int(match["hours"] or 0) * 60 + int(match["minutes"] or 0)
    if not 1 <= minutes <= MAX_SLA_MINUTES:
        raise InvalidInput(SLA_HINT, max=MAX_SLA_MINUTES // 60)
    return minutes


def is_open(hours: Hours | None, tz_name: str, now: datetime) -> bool:
    """Return whether ``now`` falls within ``hours`` in zone ``tz_name``."""
    if hours is None:
        return True
    clock = now.astimezone(zone(tz_name)).time().replace(tzinfo=None)
    if hours.start < hours.end:
        return hours.start <= clock < hours.end
    return clock >= hours.start or clock < hours.end


def next_opening(hours: Hours | None, tz_name: str, now: datetime) -> datetime:
    """Return the next instant (UTC) the shop opens, or ``now`` while it is open."""
    if is_open(hours, tz_name, now):
        return now
    assert hours is not None  # noqa: S101 - no hours is always open
    tz = zone(tz_name)
    local = now.astimezone(tz)
    # Closed, so either before today's start or (hours not wrapping) after today's end.
    day = local.date()
    if local.time().replace(tzinfo=None) >= hours.start:
        day += timedelta(days=1)
    # A start inside a spring-forward gap moves forward by the gap (at_local). When the
    # clocks fell back and the first of a start that happens twice is already past,
    # the second one is next.
    for candidate in (
        at_local(day, hours.start, tz),
        datetime.combine(day, hours.start, tzinfo=tz).replace(fold=1).astimezone(UTC),
    ):
        if candidate > now:
            return candidate
    return at_local(day + timedelta(days=1), hours.start, tz)


async def get_settings(session: AsyncSession, *, workspace_id: int) -> Settings:
    """Return a shop's inbox settings, the defaults when it never set any."""
    workspace = await session.get(Workspace, workspace_id)
    row = await session.get(InboxSettings, workspace_id)
    return _settings(workspace_id, workspace.timezone if workspace else "UTC", row)


async def set_hours(session: AsyncSession, *, actor: Member, hours: Hours | None) -> Settings:
    """Set the shop's opening hours, or with None make it always open.

    Raises:
        PermissionDenied: when the actor is not the owner or an admin.
    """
    row = await _row(session, actor)
    row.open_from = show_hhmm(hours.start) if hours else None
    row.open_until = show_hhmm(hours.end) if hours else None
    return await _saved(
        session, actor, row, "inbox.hours", {"hours": hours.show() if hours else None}
    )


async def set_reply_sla(session: AsyncSession, *, actor: Member, minutes: int | None) -> Settings:
    """Set how long a conversation may wait before its rep is reminded (None: off).

    Raises:
        PermissionDenied: when the actor is not the owner or an admin.
        InvalidInput: when it is not between one minute and a week.
    """
    if minutes is not None and not 1 <= minutes <= MAX_SLA_MINUTES:
        raise InvalidInput(SLA_HINT, max=MAX_SLA_MINUTES // 60)
    row = await _row(session, actor)
    row.reply_sla_minutes = minutes
    return await _saved(session, actor, row, "inbox.reply_sla", {"minutes": minutes})


async def set_signature(session: AsyncSession, *, actor: Member, on: bool) -> Settings:
    """Turn signing replies with the member's display name on or off.

    Raises:
        PermissionDenied: when the actor is not the owner or an admin.
    """
    row = await _row(session, actor)
    row.sign_replies = on
    return await _saved(session, actor, row, "inbox.signature", {"on": on})


async def _row(session: AsyncSession, actor: Member) -> InboxSettings:
    require_role(actor, Role.OWNER, Role.ADMIN)
    row = await session.get(InboxSettings, actor.workspace_id, with_for_update=True)
    if row is None:
        row = InboxSettings(workspace_id=actor.workspace_id, sign_replies=True)
        session.add(row)
    return row


async def _saved(
    session: AsyncSession,
    actor: Member,
    row: InboxSettings,
    action: str,
    details: dict[str, object],
) -> Settings:
    row.updated_by_member_id = actor.id
    await audit.record(
        session,
        workspace_id=actor.workspace_id,
        actor_member_id=actor.id,
        action=action,
        entity="workspace",
        entity_id=actor.workspace_id,
        details=details,
    )
    await session.flush()
    return await get_settings(session, workspace_id=actor.workspace_id)


def _settings(workspace_id: int, timezone: str, row: InboxSettings | None) -> Settings:
    if row is None:
        return Settings(workspace_id, timezone, None, None, sign_replies=True)
    start = read_hhmm(row.open_from) if row.open_from else None
    end = read_hhmm(row.open_until) if row.open_until else None
    hours = Hours(start, end) if start is not None and end is not None else None
    sla = timedelta(minutes=row.reply_sla_minutes) if row.reply_sla_minutes else None
    return Settings(workspace_id, timezone, hours, sla, row.sign_replies)
