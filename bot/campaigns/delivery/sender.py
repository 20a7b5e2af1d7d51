"""Sending: workers take claimed, rendered rows off the queue, wait their turn in the pace, send.

Every send waits for its chat's interval, then for the shared pace (the global
rate, Telegram's arrival window and the 429 gate, under one lock so turns go out
in order; with several workers also a slot of the pace they share through the
database, ``shared_pace``), and only then goes on the wire; its outcome goes to the recorder. A
row that never reached the wire goes back to pending, and only a request that
was cancelled on the wire is recorded ``unknown``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from bot.campaigns.delivery import run
from bot.campaigns.delivery.errors import Outcome, Verdict, classify
from bot.campaigns.delivery.outbox import Claimed, Settle
from bot.campaigns.delivery.ratelimit import (
    ArrivalWindow,
    Backoff,
    ChatLimiter,
    RetryGate,
    TokenBucket,
)
from bot.campaigns.delivery.recorder import Done, Recorder
from bot.campaigns.delivery.render import Rendered
from bot.campaigns.delivery.shared_pace import SharedPace
from bot.campaigns.delivery.wiring import Wiring
from bot.crm.models import OutboxStatus
from bot.errors import DeliveryError
from bot.messaging import Broadcaster
from bot.metrics import METRICS

logger = logging.getLogger(__name__)

# What a row still on the wire at stop's deadline is recorded as (never resent).
IN_FLIGHT_AT_STOP = "in flight at stop"
# Telegram's highest documented rate (paid broadcasts); above it there is no limit to keep.
COUNTED_UP_TO = 1000.0


@dataclass(slots=True)
class Job:
    """One claimed row with its rendered message, waiting for a worker."""

    row: Claimed
    chat_id: int
    state: run.RunState
    message: Rendered


class Senders:
    """The queue of jobs, the pace they share and the workers that send them."""

    def __init__(
        self,
        wiring: Wiring,
        recorder: Recorder,
        *,
        rng: Callable[[], float],
        shared: SharedPace | None = None,
    ) -> None:
        settings = wiring.settings
        # Several workers: the pace and the 429 gate are shared through the database.
        self._shared = shared
        self._wiring = wiring
        self._recorder = recorder
        self.bucket = TokenBucket(settings.rate_per_second)
        # No more than the rate in any one second as Telegram counts arrivals (see ArrivalWindow).
        self._window = (
            ArrivalWindow(max(1, int(settings.rate_per_second)))
            if settings.rate_per_second <= COUNTED_UP_TO
            else None
        )
        self._chats = ChatLimiter(settings.per_chat_interval_seconds)
        self.gate = RetryGate()
        self._backoff = Backoff(random=rng)
        self.queue: asyncio.Queue[Job | None] = asyncio.Queue(maxsize=settings.concurrency)
        self._pace = asyncio.Lock()
        # Rows queued or waiting for their turn, not yet paced: the feeder counts them ahead.
        self.unpaced = 0
        self.workers: list[asyncio.Task[None]] = []
        # Campaign texts go through the adapter's lean sender when it has one.
        self.broadcaster: Broadcaster | None = None

    def start(self, broadcaster: Broadcaster | None) -> None:
        """Start ``concurrency`` workers, sending through ``broadcaster`` if there is one."""
        self.broadcaster = broadcaster
        self.workers = [
            asyncio.create_task(self._work(), name=f"delivery-worker-{i}")
            for i in range(self._wiring.settings.concurrency)
        ]

    def ahead(self, now: float) -> float:
        """Return how far ahead (s) the pace is booked, counting the rows not yet paced."""
        booked = max(self.gate.wait(now), self.bucket.next_slot(now))
        return booked + self.unpaced * self.bucket.interval

    async def enqueue(self, job: Job) -> None:
        """Queue a job for the workers (waits while the queue is full)."""
        await self.queue.put(job)
        # Counted once queued: a put cancelled while waiting queued nothing.
        self.unpaced += 1

    def put_back_queued(self) -> None:
        """Return claimed rows not yet on the wire to pending, for the next start."""
        while not self.queue.empty():
            job = self.queue.get_nowait()
            if job is not None:
                self.unpaced -= 1
                back = Settle(job.row.id, OutboxStatus.PENDING, attempts=job.row.attempts)
                self.finish(job.row, job.state, back)

    def finish(
        self, row: Claimed, state: run.RunState, settle: Settle, verdict: Verdict | None = None
    ) -> None:
        """Hand one row's outcome to the recorder."""
        self._recorder.add(Done(settle, state.run_id, row.customer_id, verdict))

    async def turn(self) -> None:
        """Wait for one turn in the pace and take it, for a message that is no outbox row.

        A run's report goes out right after its last rows, while the last second's
        window is full: without a turn it would be one message over Telegram's cap.
        """
        async with self._pace:
            while not self._wiring.stopping.is_set():
                now = self._wiring.monotonic()
                slot = max(self.gate.wait(now), self.bucket.next_slot(now))
                if self._window is not None:
                    slot = max(slot, self._window.next_slot(now))
                if self._shared is not None and slot <= 0:
                    slot = await self._shared.next_slot(now)
                if slot <= 0:
                    break
                await self.sleep(slot)
            now = self._wiring.monotonic()
            if self._shared is not None:
                self._shared.take()
            self.bucket.take(now)
            if self._window is not None:
                # Answered at once: the notice's own round trip is not tracked.
                self._window.answered(self._window.take(now), now)

    async def _work(self) -> None:
        while (job := await self.queue.get()) is not None:
            await self._send(job)

    async def _send(self, job: Job) -> None:
        row, state, chat_id = job.row, job.state, job.chat_id
        paced = False
        while True:
            if self._wiring.stopping.is_set() or not state.claimable:
                # Not on the wire yet: back to pending (paused, engine stopping) or skipped.
                if not paced:
                    self.unpaced -= 1
                status = OutboxStatus.SKIPPED if state.stopped else OutboxStatus.PENDING
                reason = "stopped" if state.stopped else None
                self.finish(row, state, Settle(row.id, status, reason, row.attempts))
                return
            now = self._wiring.monotonic()
            chat_wait = self._chats.next_slot(chat_id, now)
            if chat_wait > 0:
                logger.debug("chat %d had a message %.2f s ago: waiting", chat_id, chat_wait)
                await self.sleep(chat_wait)
                continue
            async with self._pace:
                while not self._wiring.stopping.is_set():
                    now = self._wiring.monotonic()
                    gate, slot = self.gate.wait(now), self.bucket.next_slot(now)
                    if self._window is not None:
                        slot = max(slot, self._window.next_slot(now))
                    if self._shared is not None and gate <= 0 and slot <= 0:
                        slot = await self._shared.next_slot(now)
                        now = self._wiring.monotonic()
                    if gate <= 0 and slot <= 0:
                        break
                    if gate > 0:
                        logger.info("Telegram asked to wait: holding all sends for %.1f s", gate)
                    await self.sleep(max(gate, slot))
                if self._wiring.stopping.is_set():
                    continue
                now = self._wiring.monotonic()
                if self._shared is not None:
                    self._shared.take()
                self.bucket.take(now)
                self._chats.take(chat_id, now)
                ticket = self._window.take(now) if self._window is not None else None
                if not paced:
                    self.unpaced -= 1
                    paced = True
            try:
                verdict = await self._deliver(job)
            except asyncio.CancelledError:
                # Cancelled on the wire at stop's deadline: Telegram may have it, so the row
                # is never sent again.
                unknown = Settle(row.id, OutboxStatus.UNKNOWN, IN_FLIGHT_AT_STOP, row.attempts + 1)
                self.finish(row, state, unknown)
                raise
            finally:
                if ticket is not None and self._window is not None:
                    self._window.answered(ticket, self._wiring.monotonic())
            if ticket is not None and ticket.arrived_by is not None and self._shared is not None:
                late = ticket.arrived_by - ticket.sent
                if self._shared.matters(late):
                    await self._shared.hold(ticket.sent, late)
            if verdict is not None and verdict.outcome is Outcome.RETRY_AFTER_GATE:
                now = self._wiring.monotonic()
                if self.gate.wait(now) <= 0:
                    # Counted once per shutting: workers hitting the same 429 wait together.
                    METRICS.retry_after_seconds.inc(verdict.retry_after)
                self.gate.close(now, verdict.retry_after)
                logger.info("429 on row %d: gate shut for %.1f s", row.id, verdict.retry_after)
                if self._shared is not None:
                    await self._shared.pause(verdict.retry_after)
                continue
            return

    async def _deliver(self, job: Job) -> Verdict | None:
        row, state, message = job.row, job.state, job.message
        attempts = row.attempts + 1
        try:
            sent = await (self.broadcaster or self._wiring.messenger).send_text(
                job.chat_id,
                message.text,
                message.buttons,
                paid_broadcast=self._wiring.settings.paid_broadcast or state.paid_broadcast,
            )
        except DeliveryError as exc:
            verdict = classify(exc)
        except Exception as exc:  # the port promises DeliveryError only; be safe anyway
            logger.exception("messenger raised %s on row %d", type(exc).__name__, row.id)
            verdict = Verdict(Outcome.RETRY_WITH_BACKOFF, type(exc).__name__)
        else:
            done = Settle(
                row.id,
                OutboxStatus.SENT,
                None,
                attempts,
                tg_message_id=sent.message_id,
                sent_at=self._wiring.clock(),
            )
            self.finish(row, state, done)
            METRICS.campaign_sent.inc()
            return None
        if verdict.outcome is Outcome.RETRY_AFTER_GATE:
            return verdict
        if verdict.outcome is Outcome.BLOCKED:
            settle = Settle(row.id, OutboxStatus.BLOCKED, verdict.reason, attempts)
        elif verdict.outcome is Outcome.FAILED or attempts >= self._wiring.settings.max_attempts:
            settle = Settle(row.id, OutboxStatus.FAILED, verdict.reason, attempts)
        else:
            delay = self._backoff.delay(attempts)
            at = self._wiring.clock() + timedelta(seconds=delay)
            logger.info("row %d: %s; retry %d in %.1f s", row.id, verdict.reason, attempts, delay)
            settle = Settle(
                row.id, OutboxStatus.PENDING, verdict.reason[:200], attempts, not_before_at=at
            )
            state.note_deferred(at)
        self.finish(row, state, settle, verdict)
        return verdict

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds``, or less if the engine starts stopping."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wiring.stopping.wait()
