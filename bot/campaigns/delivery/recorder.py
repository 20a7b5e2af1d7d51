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
from sqlalchemy.ext.asyncio import AsyncSession

from bot.campaigns.delivery import outbox, run
from bot.campaigns.delivery.book import RunBook
from bot.campaigns.delivery.errors import Verdict
from bot.campaigns.delivery.outbox import Settle
from bot.campaigns.delivery.wiring import Wiring
from bot.crm import consent
from bot.crm.models import Customer, OutboxStatus, RunStatus
from bot.crm.store import unit_of_work

logger = logging.getLogger(__name__)

# A group is written once this many outcomes wait, or GATHER seconds after the first:
# at thousands of messages a second that makes a few large transactions instead of
# many small ones, and at 30/s it delays a commit by a few milliseconds only.
GROUP = 200
GATHER = 0.01
# A failing write is tried this often, pausing RETRY_FIRST s and doubling up to RETRY_MAX
# (about 5 s in all); then the group waits for the next round, or is given up when stopping.
WRITE_ATTEMPTS = 5
RETRY_FIRST = 0.2
RETRY_MAX = 2.0
# How long the admins' pause notice may take.
NOTICE_TIMEOUT = 10.0


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
        self, wiring: Wiring, book: RunBook, *, on_written: Callable[[int], None]
    ) -> None:
        self._wiring = wiring
        self._book = book
        self._on_written = on_written
        self._done: list[Done] = []
        self._ready = asyncio.Event()
        self._full = asyncio.Event()
        self._closing = False
        # Event-loop time after which a failing write is given up (set by closing()).
        self._deadline: float | None = None

    def add(self, done: Done) -> None:
        """Queue one outcome for the next group."""
        self._done.append(done)
        self._ready.set()
        if len(self._done) >= GROUP:
            self._full.set()

    def closing(self, deadline: float | None = None) -> None:
        """Write what is queued, then end; give up on a failing write at ``deadline``.

        Called once the last outcome was added (the workers are gone). ``deadline``
        is in event-loop time (``loop.time()``).
        """
        self._closing = True
        self._deadline = deadline
        self._ready.set()
        self._full.set()

    async def serve(self) -> None:
        """Write groups as they come (a group is whatever piled up during the last write)."""
        while True:
            # Once closing, nothing is waited for: what is queued is all there will be. (Waiting
            # for ``_ready`` here after closing() fired during a write hung stop() for good.)
            if not self._closing:
                await self._ready.wait()
                if len(self._done) < GROUP and not self._closing:
                    self._full.clear()
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(GATHER):
                            await self._full.wait()
            # Cleared before the group is taken: an add() during the write sets it again.
            self._ready.clear()
            batch, self._done = self._done, []
            if not batch:
                if self._closing:
                    return
                continue
            if await self._write(batch):
                self._on_written(len(batch))
            elif self._closing:
                # Stopping, and the database would not take the group in time. Marking the
                # rows "unknown" instead would need the same database, so they are left
                # "sending": the next start turns those into "unknown" (the crash path), and
                # none of them is ever sent again.
                lost = len(batch) + len(self._done)
                logger.error(
                    "stopping: %d outcomes could not be recorded; those rows stay in flight "
                    "and count as unknown at the next start",
                    lost,
                )
                self._done = []
                return
            else:
                # Kept for the next round: their slots stay taken, so the engine claims
                # nothing new while the database refuses writes, and no outcome is dropped.
                self._done[:0] = batch
                self._ready.set()

    async def _write(self, batch: list[Done]) -> bool:
        """Write one group in one transaction; return False after WRITE_ATTEMPTS failures."""
        loop = asyncio.get_running_loop()
        delay = RETRY_FIRST
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            now = self._wiring.clock()
            try:
                async with unit_of_work(self._wiring.sessions) as session:
                    await outbox.settle(session, [d.settle for d in batch], now=now)
                    blocked = [
                        d.customer_id for d in batch if d.settle.status is OutboxStatus.BLOCKED
                    ]
                    if blocked:
                        await _mark_unreachable(session, blocked, now)
                    streaks, paused = await self._streaks(session, batch)
                break
            except Exception:
                logger.exception(
                    "recording %d outbox rows failed (attempt %d of %d)",
                    len(batch),
                    attempt,
                    WRITE_ATTEMPTS,
                )
            wait = delay
            if self._deadline is not None:
                wait = min(wait, self._deadline - loop.time())
            if attempt == WRITE_ATTEMPTS or wait <= 0:
                return False
            await asyncio.sleep(wait)
            delay = min(delay * 2, RETRY_MAX)
        else:  # pragma: no cover - the loop either breaks or returns
            return False
        # Only what was committed reaches memory: a failed attempt leaves streaks as they were.
        for run_id, streak in streaks.items():
            state = self._book.get(run_id)
            if state is not None:
                state.error_streak = streak
        for state in paused:
            state.set_status(RunStatus.PAUSED)
        for state in paused:
            await self._tell_paused(state)
        return True

    async def _streaks(
        self, session: AsyncSession, batch: list[Done]
    ) -> tuple[dict[int, int], list[run.RunState]]:
        """Return each run's new error streak and the runs this group paused (in the DB)."""
        streaks: dict[int, int] = {}
        paused: list[run.RunState] = []
        for done in batch:
            state = self._book.get(done.run_id)
            if state is None:
                continue
            streak = streaks.get(state.run_id, state.error_streak)
            if done.verdict is not None and done.verdict.transient:
                streak += 1
                if (
                    state.status is RunStatus.RUNNING
                    and state not in paused
                    and streak >= self._wiring.settings.pause_after_errors
                ) and await run.pause(session, state.run_id, reason="errors"):
                    paused.append(state)
            elif done.settle.status is OutboxStatus.SENT:
                streak = 0
            streaks[state.run_id] = streak
        return streaks, paused

    async def _tell_paused(self, state: run.RunState) -> None:
        errors = self._wiring.settings.pause_after_errors
        logger.warning("run %d paused after %d errors in a row", state.run_id, errors)
        limit = NOTICE_TIMEOUT
        if self._deadline is not None:
            limit = min(limit, max(0.0, self._deadline - asyncio.get_running_loop().time()))
        # A notice is worth a few seconds, never a stop that does not finish.
        try:
            async with asyncio.timeout(limit):
                async with self._wiring.sessions() as session:
                    people = await run.admins_to_tell(session, state.run_id)
                texts = {
                    locale: run.pause_notice(state.campaign_name, errors, locale)
                    for _, locale in people
                }
                await run.tell(self._wiring.messenger, people, texts)
        except TimeoutError:
            logger.warning("pause notice of run %d not sent within %.0f s", state.run_id, limit)


async def _mark_unreachable(session: AsyncSession, customer_ids: list[int], now: datetime) -> None:
    # A 403 means the person blocked the bot: a consent-side event, and no more messages.
    result = await session.scalars(select(Customer).where(Customer.id.in_(customer_ids)))
    consent.set_reachable(session, list(result), reachable=False, now=now)
