"""The engine's book of open runs: refreshed from the database, materialised and closed.

Every process keeps the list so it can claim rows; only the leader
materialises new runs, sweeps stopped ones and closes those with nothing left.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.campaigns.delivery import outbox, run
from bot.campaigns.delivery.render import Renderer
from bot.crm.models import Campaign, CampaignKind, CampaignRun, Member, RunStatus, Workspace
from bot.crm.store import unit_of_work

logger = logging.getLogger(__name__)


class RunBook:
    """The open runs this process knows, and a fair turn among those it may claim from."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], clock: Callable[[], datetime]
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._runs: dict[int, run.RunState] = {}
        self._turn = 0
        self.single_process: bool | None = None

    def get(self, run_id: int) -> run.RunState | None:
        """Return the state of an open run."""
        return self._runs.get(run_id)

    def touch(self) -> None:
        """Make every run claimable again at once (new rows may have arrived)."""
        for state in self._runs.values():
            state.idle_until = 0.0

    def next_claimable(self, mono: float) -> run.RunState | None:
        """Return the next running run with rows worth claiming, taking turns."""
        ready = [s for s in self._runs.values() if s.claimable and s.idle_until <= mono]
        if not ready:
            return None
        self._turn = (self._turn + 1) % len(ready)
        return ready[self._turn]

    async def refresh(self) -> None:
        """Reload open runs: their status and their shop's quiet hours and caps.

        Status flows one way: a change this process made while the rows were being
        read (the recorder pausing a run) is newer than what was read, so that read
        is not applied; the next refresh brings the database's word (an admin's
        resume included).
        """
        revisions = {run_id: state.revision for run_id, state in self._runs.items()}
        async with self._sessions() as session:
            if self.single_process is None:
                self.single_process = session.get_bind().dialect.name == "sqlite"
            rows = (
                await session.execute(
                    select(CampaignRun, Campaign, Workspace)
                    .join(Campaign, Campaign.id == CampaignRun.campaign_id)
                    .join(Workspace, Workspace.id == CampaignRun.workspace_id)
                    .where(CampaignRun.finished_at.is_(None))
                )
            ).all()
            seen = set()
            for run_row, campaign, workspace in rows:
                seen.add(run_row.id)
                state = self._runs.get(run_row.id)
                if state is None:
                    state = await self._load(session, run_row, campaign, workspace)
                    self._runs[run_row.id] = state
                if revisions.get(run_row.id, state.revision) == state.revision:
                    if state.status is RunStatus.PAUSED and run_row.status is RunStatus.RUNNING:
                        # Resumed by an admin: count errors afresh.
                        state.error_streak = 0
                    state.status = run_row.status
                state.timezone = workspace.timezone
                state.quiet_start, state.quiet_end = workspace.quiet_start, workspace.quiet_end
                state.cap_messages = workspace.campaign_cap_messages
                state.cap_days = workspace.campaign_cap_days
                state.materialised = run_row.materialised_at is not None
        for gone in set(self._runs) - seen:
            del self._runs[gone]

    async def _load(
        self, session: AsyncSession, run_row: CampaignRun, campaign: Campaign, workspace: Workspace
    ) -> run.RunState:
        result = await session.execute(
            select(Member.id, Member.display_name).where(
                Member.workspace_id == workspace.id, Member.active.is_(True)
            )
        )
        owners = {member_id: name for member_id, name in result}
        renderer = await Renderer.load(
            session,
            workspace_id=workspace.id,
            key=run_row.template_key,
            fallback_locale=workspace.locale,
            merchant=workspace.name,
            owners=owners,
            survey_run_id=run_row.id if campaign.kind is CampaignKind.SURVEY else None,
        )
        return run.RunState(
            run_id=run_row.id,
            workspace_id=workspace.id,
            campaign_name=campaign.name,
            kind=campaign.kind,
            audience=dict(campaign.audience or {}),
            occurrence=run_row.occurrence,
            status=run_row.status,
            renderer=renderer,
            timezone=workspace.timezone,
            quiet_start=workspace.quiet_start,
            quiet_end=workspace.quiet_end,
            cap_messages=workspace.campaign_cap_messages,
            cap_days=workspace.campaign_cap_days,
            paid_broadcast=run_row.paid_broadcast,
            materialised=run_row.materialised_at is not None,
        )

    async def materialise(self, batch: int, stopping: asyncio.Event) -> None:
        """Write the outbox rows of running runs that have none yet, one batch per transaction."""
        for state in list(self._runs.values()):
            if state.materialised or state.status is not RunStatus.RUNNING:
                continue
            if state.kind is not CampaignKind.WELCOME:
                birthday = (
                    date.fromisoformat(state.occurrence)
                    if state.kind is CampaignKind.BIRTHDAY
                    else None
                )
                while not stopping.is_set():
                    async with unit_of_work(self._sessions) as session:
                        run_row = await session.get(CampaignRun, state.run_id)
                        if run_row is None:
                            return
                        added = await outbox.materialise_batch(
                            session, run_row, state.audience, birthday=birthday, limit=batch
                        )
                        await run.mark_started(session, state.run_id, now=self._clock())
                    state.idle_until = 0.0
                    if added < batch:
                        break
                if stopping.is_set():
                    return
            async with unit_of_work(self._sessions) as session:
                total = await outbox.total(session, state.run_id)
                await session.execute(
                    update(CampaignRun)
                    .where(CampaignRun.id == state.run_id)
                    .values(total=total, materialised_at=self._clock())
                    .execution_options(synchronize_session=False)
                )
                await run.mark_started(session, state.run_id, now=self._clock())
            state.materialised = True
            logger.info("run %d materialised: %d recipients", state.run_id, total)

    async def close_finished(self) -> list[int]:
        """Skip what a stopped run still had pending; close runs with nothing left; return them."""
        closed = []
        for state in list(self._runs.values()):
            stopped = state.status is RunStatus.STOPPED
            finishing = (
                state.status is RunStatus.RUNNING
                and state.materialised
                and state.kind is not CampaignKind.WELCOME
            )
            if not (stopped or finishing):
                continue
            now = self._clock()
            async with unit_of_work(self._sessions) as session:
                if stopped:
                    await outbox.skip_pending(session, state.run_id, reason="stopped", now=now)
                if await outbox.has_open(session, state.run_id):
                    continue
                done = await run.finish(session, state.run_id, now=now)
            if done:
                closed.append(state.run_id)
                del self._runs[state.run_id]
        return closed
