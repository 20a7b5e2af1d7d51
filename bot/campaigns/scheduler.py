"""The campaign scheduler: one planned job per active campaign, derived from its row.

Campaigns and their schedules are rows; jobs are derived from them at start,
on ``refresh`` after a change, and by a periodic sync that picks up changes
made elsewhere (another worker, the command line) and a change of leader.
Each job sits at the campaign's next occurrence (computed by ``schedules`` in
the workspace's zone) and, when it fires on the leader, creates that
occurrence's run. The run's unique (campaign, occurrence) key makes a double
firing harmless. After downtime the latest missed occurrence runs once if it
is at most ``misfire_grace_hours`` late; an older one is skipped, recorded in
``last_fired_at`` and reported to the shop's owner and admins. The jobs run on
``bot.scheduler``, the same wrapper of APScheduler as every other job.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.campaigns import campaigns, schedules
from bot.campaigns.delivery import run as delivery_run
from bot.crm import audit, members, workspaces
from bot.crm.models import Campaign, CampaignStatus, Member, Role
from bot.crm.store import unit_of_work
from bot.errors import DeliveryError
from bot.i18n import N_, translate
from bot.localtime import show_minute
from bot.messaging import Messenger
from bot.scheduler import Clock, Leadership, Scheduler, SoleLeader

logger = logging.getLogger(__name__)
SYNC_JOB = "campaigns-sync"


@dataclass(frozen=True, slots=True)
class Checked:
    """What a check of one campaign did with its due occurrence."""

    campaign_id: int
    occurrence: schedules.Occurrence
    verdict: schedules.Verdict
    run_id: int | None


@dataclass(frozen=True, slots=True)
class _Skipped:
    chat_id: int
    text: str


class CampaignScheduler:
    """Fire campaign occurrences on time, once, on the leader only."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        messenger: Messenger,
        *,
        clock: Clock,
        grace: timedelta,
        wake: Callable[[], None],
        leadership: Leadership | None = None,
        sync_seconds: float = 30,
    ) -> None:
        self._sessions = sessions
        self._messenger = messenger
        self._clock = clock
        self._grace = grace
        self._wake = wake
        self._leadership: Leadership = leadership or SoleLeader()
        self._jobs = Scheduler(clock, self._leadership)
        # Every process syncs: a follower keeps its plans ready for when it leads.
        self._jobs.every(SYNC_JOB, sync_seconds, self.sync, leader_only=False, at_start=False)

    async def start(self) -> None:
        """Derive the jobs from the rows and start firing them (needs a running loop)."""
        self._jobs.start()
        await self.sync()
        logger.info("campaign scheduler started")

    def shutdown(self) -> None:
        """Stop firing; APScheduler cancels a job already running."""
        self._jobs.shutdown()

    async def stop(self, grace: float) -> None:
        """Stop firing; let a running job finish for ``grace`` seconds, then cancel it.

        Cancelling is safe: a run's unique (campaign, occurrence) key and the sync
        on the next start make a cut-short firing happen once, later.
        """
        await self._jobs.stop(grace)

    def planned(self) -> dict[str, datetime]:
        """Return when each campaign's job fires next, by job name."""
        return {name: at for name, at in self._jobs.planned().items() if name != SYNC_JOB}

    async def sync(self) -> None:
        """Rebuild every campaign job from the rows, dropping jobs of inactive campaigns."""
        async with unit_of_work(self._sessions) as session:
            ids = (
                await session.scalars(
                    select(Campaign.id).where(
                        Campaign.status == CampaignStatus.ACTIVE,
                        Campaign.kind.in_(campaigns.SCHEDULED),
                    )
                )
            ).all()
        wanted = {_job_id(i) for i in ids}
        for name in self.planned().keys() - wanted:
            self._jobs.cancel(name)
        for campaign_id in ids:
            await self.refresh(campaign_id)

    async def refresh(self, campaign_id: int) -> None:
        """Re-plan one campaign's job after a change: due now, at its next occurrence, or none."""
        now = self._clock()
        leader = await self._leadership.is_leader()
        async with unit_of_work(self._sessions) as session:
            campaign = await session.get(Campaign, campaign_id)
            if campaign is None or campaign.status is not CampaignStatus.ACTIVE:
                self._jobs.cancel(_job_id(campaign_id))
                return
            tz = await workspaces.zone_of(session, campaign.workspace_id)
            due = schedules.latest_due(campaign, now=now, tz=tz)
            upcoming = schedules.next_occurrence(campaign, now=now, tz=tz)
        # Only the leader acts on a due occurrence; the others wait for the next one,
        # and the periodic sync lets a new leader catch up.
        when = now if due is not None and leader else upcoming.at if upcoming else None
        if when is None:
            self._jobs.cancel(_job_id(campaign_id))
            return
        # A firing that fails is not retried at once (it could spin): the sync plans it again.
        self._jobs.once(_job_id(campaign_id), when, partial(self._fire, campaign_id))

    async def check(self, campaign_id: int) -> Checked | None:
        """Fire or skip the campaign's due occurrence; return what was done (None: nothing due)."""
        now = self._clock()
        skipped: list[_Skipped] = []
        async with unit_of_work(self._sessions) as session:
            campaign = await session.get(Campaign, campaign_id)
            if campaign is None or campaign.status is not CampaignStatus.ACTIVE:
                return None
            tz = await workspaces.zone_of(session, campaign.workspace_id)
            due = schedules.latest_due(campaign, now=now, tz=tz)
            if due is None:
                return None
            verdict = schedules.verdict(due, now=now, grace=self._grace)
            run_id = None
            if verdict is schedules.Verdict.FIRE:
                run = await campaigns.fire(
                    session, campaign, occurrence=due.key, scheduled_for=due.at, now=now
                )
                run_id = run.id if run is not None else None
            else:
                skipped = await self._skip_notes(session, campaign, due, tz)
                details = {"occurrence": due.key}
                await audit.record_system(session, "campaign.skip_missed", campaign, details)
            campaign.last_fired_at = due.at
            if campaign.kind in campaigns.ONE_OFF:
                campaign.status = CampaignStatus.DONE
        logger.info("campaign %s occurrence %s: %s", campaign_id, due.key, verdict.value)
        if run_id is not None:
            self._wake()
        for note in skipped:
            try:
                await self._messenger.send_text(note.chat_id, note.text)
            except DeliveryError as exc:
                logger.warning("skip note for campaign %s lost: %s", campaign_id, exc.description)
        return Checked(campaign_id, due, verdict, run_id)

    async def _fire(self, campaign_id: int) -> None:
        if await self._leadership.is_leader():
            await self.check(campaign_id)
        await self.refresh(campaign_id)

    async def _skip_notes(
        self,
        session: AsyncSession,
        campaign: Campaign,
        due: schedules.Occurrence,
        tz: ZoneInfo,
    ) -> list[_Skipped]:
        managers = await session.scalars(
            select(Member).where(
                Member.workspace_id == campaign.workspace_id,
                Member.active.is_(True),
                Member.role.in_([Role.OWNER, Role.ADMIN]),
            )
        )
        upcoming = schedules.next_occurrence(campaign, now=self._clock(), tz=tz)
        notes = []
        for member in managers.all():
            # An admin limited to a team hears only about their own team's campaigns.
            if not delivery_run.hears_about(member, campaign.audience):
                continue
            locale = await members.locale_of(
                session, tg_user_id=member.tg_user_id, workspace_id=member.workspace_id
            )
            text = translate(
                locale,
                N_(
                    "⏭ Campaign “{name}” was due {when}, but I was offline for more than "
                    "{hours} h after that, so I skipped that send."
                ),
                name=campaign.name,
                when=show_minute(due.at, tz),
                hours=f"{self._grace.total_seconds() / 3600:g}",
            )
            if upcoming is not None:
                text += "\n" + translate(
                    locale, N_("Next send: {when}."), when=show_minute(upcoming.at, tz)
                )
            notes.append(_Skipped(member.chat_id, text))
        return notes


def _job_id(campaign_id: int) -> str:
    return f"campaign:{campaign_id}"
