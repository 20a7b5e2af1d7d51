"""One status word per campaign run, shown alike by /campaigns, /campaign, the report and the CLI.

The word comes from the run's own status and its outbox rows: ``queued`` (nothing
taken yet), ``sending``, ``held`` (every waiting row waits for a later moment,
e.g. the recipients' quiet hours), ``paused``, ``finished`` or ``stopped``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crm.models import CampaignRun, OutboxMessage, OutboxStatus, RunStatus
from bot.i18n import N_

QUIET_HOURS = "quiet_hours"


class RunWord(StrEnum):
    """What a run is doing, in one word."""

    QUEUED = "queued"
    SENDING = "sending"
    HELD = "held"
    PAUSED = "paused"
    FINISHED = "finished"
    STOPPED = "stopped"


# How each word reads; a held run reads "⏸ held until 09:00 — quiet hours 21:00–09:00".
WORD_LABELS = {
    RunWord.QUEUED: N_("⏳ queued"),
    RunWord.SENDING: N_("🔄 sending"),
    RunWord.PAUSED: N_("⏸ paused"),
    RunWord.FINISHED: N_("✅ finished"),
    RunWord.STOPPED: N_("⏹ stopped"),
}


@dataclass(frozen=True, slots=True)
class RunState:
    """A run's status word; for a held run, until when and whether quiet hours hold it."""

    word: RunWord
    held_until: datetime | None = None
    quiet_hours: bool = False

    def to_json(self) -> dict[str, object]:
        """Return the state as plain JSON values."""
        return {
            "state": self.word.value,
            "held_until": self.held_until.isoformat() if self.held_until else None,
            "held_by": QUIET_HOURS if self.quiet_hours else None,
        }


@dataclass(frozen=True, slots=True)
class Waiting:
    """The run's waiting rows: how many are due now, and the earliest later moment."""

    due: int = 0
    later: int = 0
    earliest: datetime | None = None
    quiet_hours: bool = False


def status_word(
    run_status: RunStatus | str, counts: Mapping[str, object], waiting: Waiting
) -> RunState:
    """Compute the run's status word from its status, its row counts and its waiting rows."""
    status = RunStatus(str(run_status))
    if status is RunStatus.STOPPED:
        return RunState(RunWord.STOPPED)
    if status is RunStatus.FINISHED:
        return RunState(RunWord.FINISHED)
    if status is RunStatus.PAUSED:
        return RunState(RunWord.PAUSED)
    sending = _number(counts.get("sending"))
    if waiting.later and not waiting.due and not sending:
        return RunState(RunWord.HELD, waiting.earliest, waiting.quiet_hours)
    taken = _number(counts.get("total")) - _number(counts.get("pending"))
    if taken <= 0 and not sending:
        return RunState(RunWord.QUEUED)
    return RunState(RunWord.SENDING)


async def waiting(session: AsyncSession, run_id: int, *, now: datetime) -> Waiting:
    """Count the run's pending rows due now and later, with the earliest later moment."""
    row = OutboxMessage
    later = row.not_before_at > now
    result = await session.execute(
        select(
            later,
            func.count(),
            func.min(row.not_before_at),
            func.max(case((row.reason == QUIET_HOURS, 1), else_=0)),
        )
        .where(row.run_id == run_id, row.status == OutboxStatus.PENDING)
        .group_by(later)
    )
    due = held = 0
    earliest: datetime | None = None
    quiet = False
    for is_later, n, first, reason in result.all():
        if is_later:
            held, earliest = int(n), first
            quiet = bool(reason)
        else:
            due += int(n)
    if earliest is not None and earliest.tzinfo is None:
        earliest = earliest.replace(tzinfo=UTC)
    return Waiting(due, held, earliest, quiet)


async def run_state(
    session: AsyncSession, run: CampaignRun, counts: Mapping[str, object], *, now: datetime
) -> RunState:
    """Return the status word of ``run`` whose outbox counts are ``counts``."""
    return status_word(run.status, counts, await waiting(session, run.id, now=now))


def _number(value: object) -> int:
    return value if isinstance(value, int) else 0
