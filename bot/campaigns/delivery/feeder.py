"""Claiming: one feeder takes due rows ahead of the pace, re-checks and renders them, queues them.

A row claimed here is ``sending`` from the claim's commit on; it reaches the
workers' queue, or is settled (skipped, deferred), or, if the feeder is stopped
or fails before that, goes back to pending: only a request that may have
reached Telegram ever becomes ``unknown``. Claimed rows hold a slot each until
their outcome is recorded, which bounds the ``sending`` rows by the concurrency.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta

from bot.campaigns.delivery import outbox, run, template_notice
from bot.campaigns.delivery.book import RunBook
from bot.campaigns.delivery.outbox import Claimed, Settle
from bot.campaigns.delivery.render import Deferred, Skipped
from bot.campaigns.delivery.sender import Job, Senders
from bot.campaigns.delivery.wiring import Wiring
from bot.campaigns.quiet import quiet_until
from bot.campaigns.render_pool import RenderPool
from bot.crm import loyalty
from bot.crm.models import CampaignKind, OutboxStatus
from bot.crm.store import unit_of_work
from bot.localtime import local_day, zone

logger = logging.getLogger(__name__)

# Rows are claimed this far (seconds) ahead of their turn in the global pace: enough that
# a slow claim never leaves the pace idle (an unused slot is lost for good), while the
# rows waiting in "sending" stay bounded by the concurrency.
CLAIM_AHEAD = 0.5
# A run whose due rows are all behind the cursor is walked again from its start this often,
# for rows another process deferred.
REWIND_EVERY = 5.0
RECENT_CONTACT = timedelta(days=7)


class Feeder:
    """Claim due rows of the runs in the book into free slots and queue them for sending."""

    def __init__(
        self,
        wiring: Wiring,
        book: RunBook,
        senders: Senders,
        renders: RenderPool,
        *,
        scan_interval: float,
        wake: asyncio.Event,
    ) -> None:
        self._wiring = wiring
        self._book = book
        self._senders = senders
        self._renders = renders
        self._scan_interval = scan_interval
        self._wake = wake
        self._free = wiring.settings.concurrency
        self.freed = asyncio.Event()

    def release(self, slots: int) -> None:
        """Give back the slots of rows whose outcomes are committed."""
        # Slots come back only once outcomes are committed: that bounds "sending" rows.
        self._free += slots
        self.freed.set()

    async def serve(self) -> None:
        """Claim, render and queue rows until the engine stops."""
        while not self._wiring.stopping.is_set():
            wait = self._claim_wait()
            if wait > 0:
                logger.debug("pacing: next claim in %.3f s", wait)
                await self._senders.sleep(wait)
                continue
            # Any free slot is claimed into at once. Waiting for half the slots to come free
            # left up to half of them idle between answers, so with a slow Telegram fewer
            # requests were out than the concurrency allows (300 ms answers, 8 slots: ~18/s
            # of the ~26 possible). Claims still come in groups where round trips matter: at
            # high rates the recorder frees a whole written group of slots at a time.
            if self._free < 1:
                self.freed.clear()
                if not self._wiring.stopping.is_set():
                    await self.freed.wait()
                continue
            state = self._book.next_claimable(self._wiring.monotonic())
            if state is None:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._scan_interval):
                        await self._wake.wait()
                continue
            try:
                await self._claim(state)
            except Exception:
                logger.exception("claiming rows of run %d failed; retrying", state.run_id)
                await self._senders.sleep(1.0)

    def _claim_wait(self) -> float:
        return max(0.0, self._senders.ahead(self._wiring.monotonic()) - CLAIM_AHEAD)

    def _wanted(self) -> int:
        """Return how many rows the pace can send within CLAIM_AHEAD (at least one)."""
        ahead = self._senders.ahead(self._wiring.monotonic())
        room = int((CLAIM_AHEAD - ahead) / self._senders.bucket.interval) + 1
        return max(1, min(room, self._wiring.settings.batch_size))

    async def _claim(self, state: run.RunState) -> None:
        size = max(1, min(self._free, self._wanted()))
        now = self._wiring.clock()
        mono = self._wiring.monotonic()
        if state.rewind_due(now):
            state.cursor = 0
        self._free -= size
        try:
            async with unit_of_work(self._wiring.sessions) as session:
                since = now - timedelta(days=state.cap_days) if state.cap_messages > 0 else None
                rows = await outbox.claim(
                    session,
                    run_id=state.run_id,
                    after_id=state.cursor,
                    now=now,
                    limit=size,
                    sent_since=since,
                    claimed_by=self._wiring.worker,
                )
                go, settles = self._check(state, rows, now)
                await outbox.settle(session, settles, now=now)
                # One grouped query per batch, only for templates that show {{ points }}.
                points = (
                    await loyalty.balances(
                        session, state.workspace_id, [row.customer_id for row in go]
                    )
                    if go and state.renderer.uses("points")
                    else {}
                )
        except BaseException:
            # Rolled back, or cancelled inside the commit: nothing is put back, since whether
            # that commit landed is not known here, and settling rows this process may not
            # hold could undo another worker's claim. Any that did land are unknown at the
            # next start.
            self._free += size
            raise
        if rows:
            state.cursor = rows[-1].id
        self._free += size - len(go)
        if len(rows) < size:
            self._exhausted(state, mono)
        await self._hand_over(state, go, now, points)
        await template_notice.tell_once(self._wiring.sessions, self._wiring.messenger, state)

    async def _hand_over(
        self, state: run.RunState, go: list[Claimed], now: datetime, points: dict[int, int]
    ) -> None:
        """Render the claimed rows and queue them, or settle them; none is left behind."""
        handled = 0
        try:
            # One request to the render workers for the whole batch, bounded in time.
            messages = await state.renderer.render_batch(
                self._renders,
                [
                    (
                        row,
                        local_day(now, zone(row.timezone, state.timezone)),
                        points.get(row.customer_id, 0),
                    )
                    for row in go
                ],
            )
            for row, message in zip(go, messages, strict=True):
                if row.chat_id is None:  # ruled out by _check; keeps the type checker informed
                    handled += 1
                    continue
                if isinstance(message, Deferred):
                    later = now + timedelta(seconds=message.seconds)
                    retry = Settle(row.id, OutboxStatus.PENDING, None, row.attempts, later)
                    self._senders.finish(row, state, retry)
                    state.note_deferred(later)
                elif isinstance(message, Skipped):
                    skip = Settle(row.id, OutboxStatus.SKIPPED, message.reason, row.attempts)
                    self._senders.finish(row, state, skip)
                else:
                    await self._senders.enqueue(Job(row, row.chat_id, state, message))
                handled += 1
        except BaseException:
            # Stopped (or failed) mid-render or at a full queue: these rows are "sending" but
            # none of them went near Telegram, so they go back to pending through the
            # recorder, within stop's deadline. If the database refuses that write they stay
            # "sending" and the next start records them unknown, as after a crash.
            for row in go[handled:]:
                back = Settle(row.id, OutboxStatus.PENDING, attempts=row.attempts)
                self._senders.finish(row, state, back)
            raise

    def _exhausted(self, state: run.RunState, mono: float) -> None:
        if state.cursor and mono - state.last_rewind >= REWIND_EVERY:
            # Walk the run again from the start for rows deferred behind the cursor.
            state.cursor, state.last_rewind = 0, mono
            return
        state.idle_until = mono + self._scan_interval

    def _check(
        self, state: run.RunState, rows: list[Claimed], now: datetime
    ) -> tuple[list[Claimed], list[Settle]]:
        """Re-check consent, reachability, recent contact, the cap and quiet hours at claim."""
        go: list[Claimed] = []
        settles: list[Settle] = []
        for row in rows:
            reason = None
            if not row.opted_in:
                reason = "opted_out"
            elif not row.reachable or row.chat_id is None:
                reason = "unreachable"
            elif (
                state.kind is CampaignKind.WEEKLY
                and row.last_contact_at is not None
                and now - row.last_contact_at < RECENT_CONTACT
            ):
                reason = "recently_contacted"
            elif state.cap_messages > 0 and row.recent_sends >= state.cap_messages:
                reason = "capped"
            if reason is not None:
                settles.append(Settle(row.id, OutboxStatus.SKIPPED, reason, row.attempts))
                continue
            wait = (
                None
                if row.past_quiet
                else quiet_until(
                    now, row.timezone or state.timezone, state.quiet_start, state.quiet_end
                )
            )
            if wait is not None:
                settles.append(
                    Settle(
                        row.id,
                        OutboxStatus.PENDING,
                        "quiet_hours",
                        row.attempts,
                        not_before_at=wait,
                    )
                )
                state.note_deferred(wait)
                continue
            go.append(row)
        return go, settles
