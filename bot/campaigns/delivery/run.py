"""One campaign run in the engine: its state, pausing at an error threshold, finishing once.

Counters that matter are never kept in memory: a run's report is derived from
its outbox rows, so it is right after any crash. In memory there is only what
makes claiming cheap (a cursor over the run's rows) and the error streak.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.campaigns.delivery import outbox
from bot.campaigns.delivery.render import Renderer
from bot.campaigns.run_status import WORD_LABELS, RunWord
from bot.crm import members, scope
from bot.crm.models import (
    Campaign,
    CampaignKind,
    CampaignRun,
    Member,
    Role,
    RunStatus,
)
from bot.errors import DeliveryError
from bot.i18n import N_, translate
from bot.messaging import Messenger

logger = logging.getLogger(__name__)

# Labels of the reasons a recipient was skipped, as the report shows them.
SKIP_REASONS = {
    "opted_out": N_("opted out"),
    "unreachable": N_("can't be reached"),
    "recently_contacted": N_("contacted by a rep in the last 7 days"),
    "capped": N_("already got enough campaign messages this week"),
    "template_error": N_("the template could not be filled in"),
    "template_too_slow": N_("the template took too long to fill in"),
    "template_missing": N_("no template text"),
    "stopped": N_("the campaign was stopped"),
}


@dataclass
class RunState:
    """What the engine keeps about a run it is sending: settings, cursor and error streak."""

    run_id: int
    workspace_id: int
    campaign_name: str
    kind: CampaignKind
    audience: dict[str, Any]
    occurrence: str
    status: RunStatus
    renderer: Renderer
    timezone: str
    quiet_start: str
    quiet_end: str
    cap_messages: int
    cap_days: int
    paid_broadcast: bool
    materialised: bool
    # Claims look only past this row id; rows deferred behind it are revisited from 0.
    cursor: int = 0
    # The earliest not_before_at this process set on a row behind the cursor.
    next_due: datetime | None = None
    error_streak: int = 0
    idle_until: float = 0.0
    last_rewind: float = 0.0
    # Counts the status changes this process made itself; a refresh that read the
    # database before the latest one must not undo it (see RunBook.refresh).
    revision: int = 0

    @property
    def claimable(self) -> bool:
        """Return True while new rows of this run may be claimed."""
        return self.status is RunStatus.RUNNING

    @property
    def stopped(self) -> bool:
        """Return True once an admin stopped the run: what is left is skipped."""
        return self.status is RunStatus.STOPPED

    def set_status(self, status: RunStatus) -> None:
        """Change the run's status here, ahead of the next refresh (a pause just committed)."""
        self.status = status
        self.revision += 1

    def note_deferred(self, at: datetime) -> None:
        """Remember a row put back for later, so claiming comes back for it in time."""
        if self.next_due is None or at < self.next_due:
            self.next_due = at

    def rewind_due(self, now: datetime) -> bool:
        """Return True (and forget the deadline) once a deferred row has come due."""
        if self.next_due is not None and self.next_due <= now:
            self.next_due = None
            return True
        return False


@dataclass(frozen=True)
class RunReport:
    """A run's outcome, counted from its outbox rows."""

    run_id: int
    campaign_name: str
    status: str
    total: int
    sent: int
    skipped: Mapping[str, int]
    failed: int
    blocked: int
    unknown: int
    pending: int
    started_at: datetime | None
    finished_at: datetime | None
    duration_seconds: float
    rate: float

    def to_json(self) -> dict[str, object]:
        """Return the report as plain JSON values."""
        return {
            "run_id": self.run_id,
            "campaign": self.campaign_name,
            "status": self.status,
            "total": self.total,
            "sent": self.sent,
            "skipped": dict(self.skipped),
            "failed": self.failed,
            "blocked": self.blocked,
            "unknown": self.unknown,
            "pending": self.pending,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "duration_seconds": round(self.duration_seconds, 3),
            "rate": round(self.rate, 2),
        }


async def report(session: AsyncSession, run_id: int) -> RunReport:
    """Return the run's report from its outbox rows; rate is sent messages per second."""
    run = await session.get(CampaignRun, run_id)
    if run is None:
        msg = f"campaign run {run_id} does not exist"
        raise LookupError(msg)
    campaign = await session.get(Campaign, run.campaign_id)
    counts = await outbox.counts(session, run_id)
    start, end = run.started_at, run.finished_at
    duration = (end - start).total_seconds() if start and end else 0.0
    sent = _number(counts["sent"])
    skipped = counts["skipped"]
    return RunReport(
        run_id=run_id,
        campaign_name=campaign.name if campaign else "",
        status=str(run.status),
        total=_number(counts["total"]),
        sent=sent,
        skipped=dict(skipped) if isinstance(skipped, Mapping) else {},
        failed=_number(counts["failed"]),
        blocked=_number(counts["blocked"]),
        unknown=_number(counts["unknown"]),
        pending=_number(counts["pending"]) + _number(counts["sending"]),
        started_at=start,
        finished_at=end,
        duration_seconds=duration,
        rate=sent / duration if duration > 0 else float(sent),
    )


def _number(value: object) -> int:
    return value if isinstance(value, int) else 0


def _word(status: str) -> RunWord:
    """Return the status word of a run's report (a report goes out once a run ended)."""
    return RunWord.STOPPED if status == RunStatus.STOPPED else RunWord.FINISHED


def format_report(rep: RunReport, locale: str) -> str:
    """Return the report as a short chat message in ``locale``."""
    t = partial(translate, locale)
    lines = [
        t(N_("📊 Campaign “{name}” is done."), name=rep.campaign_name)
        if rep.status != RunStatus.STOPPED
        else t(N_("📊 Campaign “{name}” was stopped."), name=rep.campaign_name),
        t(N_("Status: {status}"), status=t(WORD_LABELS[_word(rep.status)])),
        t(N_("✅ Sent: {n}"), n=rep.sent),
    ]
    skipped = sum(rep.skipped.values())
    lines.append(t(N_("⏭ Skipped: {n}"), n=skipped))
    for reason, n in sorted(rep.skipped.items()):
        label = SKIP_REASONS.get(reason)
        lines.append(f"   • {t(label) if label else reason}: {n}")
    lines.append(t(N_("🚫 Blocked the bot: {n}"), n=rep.blocked))
    lines.append(t(N_("⚠️ Failed: {n}"), n=rep.failed))
    if rep.unknown:
        lines.append(
            t(N_("❔ Unknown (in flight during a restart, not resent): {n}"), n=rep.unknown)
        )
    lines.append(
        t(
            N_("⏱ Took {seconds} s, {rate} messages a second."),
            seconds=f"{rep.duration_seconds:.0f}",
            rate=f"{rep.rate:.1f}",
        )
    )
    return "\n".join(lines)


async def mark_started(session: AsyncSession, run_id: int, *, now: datetime) -> None:
    """Record when the run began sending (once)."""
    await session.execute(
        update(CampaignRun)
        .where(CampaignRun.id == run_id, CampaignRun.started_at.is_(None))
        .values(started_at=now)
        .execution_options(synchronize_session=False)
    )


async def finish(session: AsyncSession, run_id: int, *, now: datetime) -> bool:
    """Close a run that has nothing left to send; return True only for the call that closed it.

    A running run becomes FINISHED; a stopped one keeps its status. Either way
    ``finished_at`` is set once, which is what makes the report go out once.
    """
    result = await session.execute(
        update(CampaignRun)
        .where(
            CampaignRun.id == run_id,
            CampaignRun.finished_at.is_(None),
            CampaignRun.status.in_([RunStatus.RUNNING, RunStatus.STOPPED]),
        )
        .values(finished_at=now)
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    await session.execute(
        update(CampaignRun)
        .where(CampaignRun.id == run_id, CampaignRun.status == RunStatus.RUNNING)
        .values(status=RunStatus.FINISHED)
        .execution_options(synchronize_session=False)
    )
    return True


async def pause(session: AsyncSession, run_id: int, *, reason: str) -> bool:
    """Pause a running run (too many errors in a row); return True if this call paused it."""
    result = await session.execute(
        update(CampaignRun)
        .where(CampaignRun.id == run_id, CampaignRun.status == RunStatus.RUNNING)
        .values(status=RunStatus.PAUSED, paused_reason=reason)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def unreported(session: AsyncSession) -> list[int]:
    """Return the runs that ended but whose report has not gone out yet."""
    result = await session.scalars(
        select(CampaignRun.id).where(
            CampaignRun.finished_at.is_not(None), CampaignRun.reported_at.is_(None)
        )
    )
    return list(result)


async def mark_reported(session: AsyncSession, run_id: int, *, now: datetime) -> None:
    """Record that the run's report went out."""
    await session.execute(
        update(CampaignRun)
        .where(CampaignRun.id == run_id)
        .values(reported_at=now)
        .execution_options(synchronize_session=False)
    )


def hears_about(member: Member, audience: Mapping[str, Any]) -> bool:
    """Return whether an owner or admin may hear about a campaign with this audience.

    An admin limited to a team hears only about campaigns whose audience carries
    their team: any other campaign's name and counts are outside what they may see.
    """
    if not scope.team_limited(member):
        return True
    team = audience.get("team_id")
    return team is not None and str(team) == str(member.team_id)


async def admins_to_tell(session: AsyncSession, run_id: int) -> list[tuple[int, str]]:
    """Return (chat id, language) of who hears about a run: its creator, else owner and admins.

    Without an active creator (a run started from the command line, a creator who
    left), admins limited to a team hear only about their own team's campaigns.
    """
    run = await session.get(CampaignRun, run_id)
    if run is None:
        return []
    campaign = await session.get(Campaign, run.campaign_id)
    creator_id = run.created_by_member_id or (campaign.created_by_member_id if campaign else None)
    people: list[Member] = []
    if creator_id is not None:
        creator = await session.get(Member, creator_id)
        if creator is not None and creator.active and creator.workspace_id == run.workspace_id:
            people = [creator]
    if not people:
        found = await session.scalars(
            select(Member)
            .where(
                Member.workspace_id == run.workspace_id,
                Member.active.is_(True),
                Member.role.in_([Role.OWNER, Role.ADMIN]),
            )
            .order_by(Member.id)
        )
        audience = campaign.audience if campaign is not None else {}
        people = [member for member in found if hears_about(member, audience)]
    return [
        (
            member.chat_id,
            await members.locale_of(
                session, tg_user_id=member.tg_user_id, workspace_id=member.workspace_id
            ),
        )
        for member in people
    ]


async def tell(
    messenger: Messenger, people: list[tuple[int, str]], texts: Mapping[str, str]
) -> None:
    """Send each person the text in their language; a failed notice is logged, not retried."""
    for chat_id, locale in people:
        try:
            await messenger.send_text(chat_id, texts[locale])
        except DeliveryError as exc:
            logger.warning("run notice to chat %d not delivered: %s", chat_id, exc.description)


def pause_notice(campaign_name: str, errors: int, locale: str) -> str:
    """Return the message telling admins a run paused itself."""
    return translate(
        locale,
        N_(
            "⏸ Campaign “{name}” paused itself after {n} delivery problems in a row. "
            "Telegram may be having trouble. Resume it from /campaigns when you're ready."
        ),
        name=campaign_name,
        n=errors,
    )
