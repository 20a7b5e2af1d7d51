"""Recording outcomes: finished outbox rows written in groups, one transaction per group.

A row becomes ``sent`` only here, after Telegram answered OK; until the group
commits it stays ``sending``, which a crash turns into ``unknown``. The same
transaction marks 403'd customers unreachable and pauses a run whose errors in
a row reached the threshold.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.campaigns.delivery import outbox, run
from bot.campaigns.delivery.book import RunBook
from bot.campaigns.delivery.errors import Verdict
from bot.campaigns.delivery.outbox import Settle
from bot.config import DeliverySettings
from bot.crm import consent
from bot.crm.models import Customer, OutboxStatus, RunStatus
from bot.crm.store import unit_of_work
from bot.messaging import Messenger

logger = logging.getLogger(__name__)

# A group is written once this many outcomes wait, or GATHER seconds after the first:
# at thousands of messages a second that makes a few large transactions instead of
# many small ones, and at 30/s it delays a commit by a few milliseconds only.
GROUP = 200
GATHER = 0.01


@dataclass(slots=True)
class Done:
    """One row's outcome waiting to be written."""

    settle: Settle
    run_id: int
    customer_id: int
    verdict: Verdict | None = None


class Recorder:
    """Collect outcomes from the workers and write them in groups."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        messenger: Messenger,
        settings: DeliverySettings,
        book: RunBook,
        clock: Callable[[], datetime],
        *,
        on_written: Callable[[int], None],
    ) -> None:
        self._sessions = sessions
        self._messenger = messenger
        self._settings = settings
        self._book = book
        self._clock = clock
        self._on_written = on_written
        self._done: list[Done] = []
        self._ready = asyncio.Event()
        self._full = asyncio.Event()
        self._closing = False

    def add(self, done: Done) -> None:
        """Queue one outcome for the next group."""
        self._done.append(done)
        self._ready.set()
        if len(self._done) >= GROUP:
            self._full.set()

    def closing(self) -> None:
        """Finish once what is queued is written and the workers are gone."""
        self._closing = True
        self._ready.set()
        self._full.set()

    async def serve(self, workers_gone: Callable[[], bool]) -> None:
        """Write groups as they come (a group is whatever piled up during the last write)."""
        while True:
            await self._ready.wait()
            if len(self._done) < GROUP and not self._closing:
                self._full.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(GATHER):
                        await self._full.wait()
            self._ready.clear()
            batch, self._done = self._done, []
            if batch:
                await self._write(batch)
                self._on_written(len(batch))
            elif self._closing and workers_gone():
                return

    async def _write(self, batch: list[Done]) -> None:
        paused: list[run.RunState] = []
        while True:
            now = self._clock()
            try:
                async with unit_of_work(self._sessions) as session:
                    await outbox.settle(session, [d.settle for d in batch], now=now)
                    blocked = [
                        d.customer_id for d in batch if d.settle.status is OutboxStatus.BLOCKED
                    ]
                    if blocked:
                        await _mark_unreachable(session, blocked, now)
                    paused = await self._streaks(session, batch)
                break
            except Exception:
                # The rows stay "sending" in the database until this succeeds; never drop them.
                logger.exception("recording %d outbox rows failed; retrying in 1 s", len(batch))
                await asyncio.sleep(1.0)
        for state in paused:
            await self._tell_paused(state)

    async def _streaks(self, session: AsyncSession, batch: list[Done]) -> list[run.RunState]:
        paused = []
        for done in batch:
            state = self._book.get(done.run_id)
            if state is None:
                continue
            if done.verdict is not None and done.verdict.transient:
                state.error_streak += 1
                if (
                    state.status is RunStatus.RUNNING
                    and state.error_streak >= self._settings.pause_after_errors
                ) and await run.pause(session, state.run_id, reason="errors"):
                    state.status = RunStatus.PAUSED
                    paused.append(state)
            elif done.settle.status is OutboxStatus.SENT:
                state.error_streak = 0
        return paused

    async def _tell_paused(self, state: run.RunState) -> None:
        errors = self._settings.pause_after_errors
        logger.warning("run %d paused after %d errors in a row", state.run_id, errors)
        async with self._sessions() as session:
            people = await run.admins_to_tell(session, state.run_id)
        texts = {
            locale: run.pause_notice(state.campaign_name, errors, locale) for _, locale in people
        }
        await run.tell(self._messenger, people, texts)


async def _mark_unreachable(session: AsyncSession, customer_ids: list[int], now: datetime) -> None:
    # A 403 means the person blocked the bot: a consent-side event, and no more messages.
    result = await session.scalars(select(Customer).where(Customer.id.in_(customer_ids)))
    consent.set_reachable(session, list(result), reachable=False, now=now)
