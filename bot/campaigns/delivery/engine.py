"""The delivery engine: claims outbox rows, paces them out through the Messenger, records outcomes.

One feeder claims small batches of due rows just ahead of the global pace, so a
row is ``sending`` only shortly before its request; ``concurrency`` workers send;
one recorder writes finished rows in groups (one transaction per group) and
only then frees their slots, which bounds the ``sending`` rows, and so the
``unknown`` ones after a crash, by ``concurrency``. The scan loop keeps the list
of runs fresh and, on the leader only, materialises new runs, sweeps stopped
ones and finishes and reports those with nothing left.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.campaigns.delivery import outbox, run, template_notice
from bot.campaigns.delivery.book import RunBook
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
from bot.campaigns.delivery.render import Deferred, Rendered, Skipped
from bot.campaigns.quiet import quiet_until, zone
from bot.campaigns.render_pool import RenderPool
from bot.config import DeliverySettings
from bot.crm import loyalty
from bot.crm.models import CampaignKind, OutboxStatus, utcnow
from bot.crm.store import SQLITE_BUSY_TIMEOUT_MS, unit_of_work
from bot.errors import DeliveryError
from bot.messaging import Broadcaster, CanBroadcast, Messenger
from bot.scheduler import Leadership, SoleLeader

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]
# Rows are claimed this far (seconds) ahead of their turn in the global pace: enough that
# a slow claim never leaves the pace idle (an unused slot is lost for good), while the
# rows waiting in "sending" stay bounded by the concurrency.
CLAIM_AHEAD = 0.5
# How often the run list is refreshed when nothing wakes the engine.
SCAN_INTERVAL = 1.0
# A run whose due rows are all behind the cursor is walked again from its start this often,
# for rows another process deferred.
REWIND_EVERY = 5.0
# On PostgreSQL other processes may be sending: only rows this old are crash leftovers.
SENDING_LEASE = timedelta(minutes=15)
RECENT_CONTACT = timedelta(days=7)
# stop() returns within about this many seconds in every state (a messenger that never
# answers, a locked database): SIGTERM must end the process promptly.
STOP_TIMEOUT = 5.0
# Of that time, the feeder gets up to a third to finish the claim it is in, and the
# recorder keeps the last third to write the outcomes once the workers are done.
FEEDER_SHARE = RECORD_SHARE = 1 / 3
# How long a database call cancelled at the deadline may take to unwind (SQLite's busy wait).
UNWIND = SQLITE_BUSY_TIMEOUT_MS / 1000 + 0.5
# What a row still on the wire at stop's deadline is recorded as (never resent).
IN_FLIGHT_AT_STOP = "in flight at stop"
# Telegram's highest documented rate (paid broadcasts); above it there is no limit to keep.
COUNTED_UP_TO = 1000.0


@dataclass(slots=True)
class _Job:
    row: Claimed
    chat_id: int
    state: run.RunState
    message: Rendered


class DeliveryEngine:
    """Send campaign runs' outbox rows at Telegram's pace, exactly once or marked unknown."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        messenger: Messenger,
        settings: DeliverySettings,
        *,
        clock: Clock = utcnow,
        leadership: Leadership | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
        scan_interval: float = SCAN_INTERVAL,
        stop_timeout: float = STOP_TIMEOUT,
        renders: RenderPool | None = None,
    ) -> None:
        self._sessions = sessions
        self._messenger = messenger
        self._settings = settings
        self._clock = clock
        self._leadership: Leadership = leadership or SoleLeader()
        self._mono = monotonic
        self._scan_interval = scan_interval
        self._stop_timeout = stop_timeout
        # Admin-written templates are filled in by worker processes, never on this loop.
        self._renders = renders or RenderPool()
        self._owns_renders = renders is None
        self._bucket = TokenBucket(settings.rate_per_second)
        # No more than the rate in any one second as Telegram counts arrivals (see ArrivalWindow).
        self._window = (
            ArrivalWindow(max(1, int(settings.rate_per_second)))
            if settings.rate_per_second <= COUNTED_UP_TO
            else None
        )
        self._chats = ChatLimiter(settings.per_chat_interval_seconds)
        self._gate = RetryGate()
        self._backoff = Backoff(random=rng)
        self._book = RunBook(sessions, clock)
        self._queue: asyncio.Queue[_Job | None] = asyncio.Queue(maxsize=settings.concurrency)
        self._recorder = Recorder(
            sessions, messenger, settings, self._book, clock, on_written=self._release
        )
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._pace = asyncio.Lock()
        self._free = settings.concurrency
        self._freed = asyncio.Event()
        self._unpaced = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._workers: list[asyncio.Task[None]] = []
        self._recording: asyncio.Task[None] | None = None
        # Campaign texts go through the adapter's lean sender when it has one.
        self._sender: Broadcaster | None = None

    async def start(self) -> None:
        """Recover rows a crash left in flight, then start scanning, claiming and sending."""
        if self._tasks:
            return
        now = self._clock()
        async with unit_of_work(self._sessions) as session:
            single = session.get_bind().dialect.name == "sqlite"
            stale = None if single else now - SENDING_LEASE
            lost = await outbox.recover(session, now=now, stale_before=stale)
        if lost:
            logger.warning("%d messages were in flight at the last stop: marked unknown", lost)
        if isinstance(self._messenger, CanBroadcast):
            self._sender = self._messenger.open_broadcast(self._settings.concurrency)
        self._workers = [
            asyncio.create_task(self._work(), name=f"delivery-worker-{i}")
            for i in range(self._settings.concurrency)
        ]
        self._recording = asyncio.create_task(self._recorder.serve(), name="delivery-recorder")
        self._tasks = [
            asyncio.create_task(self._scan(), name="delivery-scan"),
            asyncio.create_task(self._feed(), name="delivery-feeder"),
        ]
        logger.info(
            "delivery engine started: %.0f msg/s, %d in flight at most",
            self._settings.rate_per_second,
            self._settings.concurrency,
        )

    async def stop(self) -> None:
        """Stop claiming; let requests on the wire finish and record them; put the rest back.

        Returns within about ``stop_timeout`` seconds whatever the state. A request
        still unanswered by then is cancelled and its row recorded ``unknown``; if
        the database does not take the last outcomes in time, their rows stay
        ``sending`` and the next start records them ``unknown``. Either way no row
        is sent twice.
        """
        if self._stopping.is_set() or not self._tasks:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._stop_timeout
        self._stopping.set()
        self._wake.set()
        self._freed.set()
        scan, feed = self._tasks
        scan.cancel()
        # The feeder is not cancelled mid-claim if it can help it: rows it committed as
        # "sending" must reach the queue (and so go back to pending below), or a restart
        # would call them unknown. Emptying the queue meanwhile keeps it from blocking there.
        feeder_until = loop.time() + self._stop_timeout * FEEDER_SHARE
        while not feed.done() and (left := feeder_until - loop.time()) > 0:
            self._put_back_queued()
            await asyncio.wait({feed}, timeout=min(left, 0.05))
        feed.cancel()
        # A task cancelled inside a database call may take a while to unwind: not waited for.
        await asyncio.wait({scan, feed}, timeout=max(0.0, min(0.5, deadline - loop.time())))
        self._put_back_queued()
        # One "no more work" per worker; those mid-send finish first, until the deadline.
        for _ in self._workers:
            self._queue.put_nowait(None)
        workers_until = deadline - self._stop_timeout * RECORD_SHARE
        _, stuck = await asyncio.wait(self._workers, timeout=max(0.0, workers_until - loop.time()))
        if stuck:
            logger.warning("stopping: %d sends still unanswered, recorded unknown", len(stuck))
            for task in stuck:
                task.cancel()
            await asyncio.wait(stuck, timeout=0.5)
        self._recorder.closing(deadline)
        if self._recording is not None:
            done, _ = await asyncio.wait(
                {self._recording}, timeout=max(0.1, deadline - loop.time() + 0.5)
            )
            if not done:
                # Inside one database call past the deadline: its rows stay "sending" and
                # count as unknown at the next start. The cancelled call is waited for
                # (SQLite gives up a busy wait by itself): a connection abandoned mid-write
                # could keep the database locked.
                logger.error("stopping: the last outcomes could not be recorded in time")
                self._recording.cancel()
                await asyncio.wait({self._recording}, timeout=UNWIND)
        if self._sender is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await self._sender.aclose()
        if self._owns_renders:
            await self._renders.close()
        logger.info("delivery engine stopped")

    def _put_back_queued(self) -> None:
        """Return claimed rows not yet on the wire to pending, for the next start."""
        while not self._queue.empty():
            job = self._queue.get_nowait()
            if job is not None:
                self._unpaced -= 1
                back = Settle(job.row.id, OutboxStatus.PENDING, attempts=job.row.attempts)
                self._finish(job.row, job.state, back)

    def wake(self) -> None:
        """Look for new runs and rows now instead of at the next scan."""
        self._book.touch()
        self._wake.set()

    # The scan loop -------------------------------------------------------------------

    async def _scan(self) -> None:
        while not self._stopping.is_set():
            try:
                leader = await self._leadership.is_leader()
                await self._book.refresh()
                if leader:
                    await self._lead()
            except Exception:
                logger.exception("delivery scan failed; retrying in %.0f s", self._scan_interval)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._scan_interval):
                    await self._wake.wait()

    async def _lead(self) -> None:
        now = self._clock()
        if self._book.single_process is False:
            async with unit_of_work(self._sessions) as session:
                await outbox.recover(session, now=now, stale_before=now - SENDING_LEASE)
        await self._book.materialise(self._settings.batch_size * 40, self._stopping)
        for run_id in await self._book.close_finished():
            await self._send_report(run_id)
        async with self._sessions() as session:
            waiting = await run.unreported(session)
        for run_id in waiting:
            await self._send_report(run_id)

    async def _send_report(self, run_id: int) -> None:
        now = self._clock()
        async with unit_of_work(self._sessions) as session:
            rep = await run.report(session, run_id)
            people = await run.admins_to_tell(session, run_id)
            # Marked before sending: a crash mid-way loses a notice rather than repeating it.
            await run.mark_reported(session, run_id, now=now)
        texts = {locale: run.format_report(rep, locale) for _, locale in people}
        await run.tell(self._messenger, people, texts)
        logger.info("run %d finished: %s", run_id, rep.to_json())

    # Claiming ------------------------------------------------------------------------

    async def _feed(self) -> None:
        while not self._stopping.is_set():
            wait = self._claim_wait()
            if wait > 0:
                logger.debug("pacing: next claim in %.3f s", wait)
                await self._sleep(wait)
                continue
            # Claim in groups (half the slots, or what the pace can use soon): one
            # transaction per group keeps SQLite's round trips off the hot path.
            if self._free < max(1, min(self._wanted(), self._settings.concurrency // 2)):
                self._freed.clear()
                if not self._stopping.is_set():
                    await self._freed.wait()
                continue
            state = self._book.next_claimable(self._mono())
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
                await self._sleep(1.0)

    def _claim_wait(self) -> float:
        now = self._mono()
        ahead = max(self._gate.wait(now), self._bucket.next_slot(now))
        ahead += self._unpaced * self._bucket.interval
        return max(0.0, ahead - CLAIM_AHEAD)

    def _wanted(self) -> int:
        """Return how many rows the pace can send within CLAIM_AHEAD (at least one)."""
        now = self._mono()
        ahead = max(self._gate.wait(now), self._bucket.next_slot(now))
        ahead += self._unpaced * self._bucket.interval
        room = int((CLAIM_AHEAD - ahead) / self._bucket.interval) + 1
        return max(1, min(room, self._settings.batch_size))

    def _claim_size(self) -> int:
        return max(1, min(self._free, self._wanted()))

    async def _claim(self, state: run.RunState) -> None:
        size = self._claim_size()
        now = self._clock()
        mono = self._mono()
        if state.rewind_due(now):
            state.cursor = 0
        self._free -= size
        try:
            async with unit_of_work(self._sessions) as session:
                since = now - timedelta(days=state.cap_days) if state.cap_messages > 0 else None
                rows = await outbox.claim(
                    session,
                    run_id=state.run_id,
                    after_id=state.cursor,
                    now=now,
                    limit=size,
                    sent_since=since,
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
            self._free += size  # rolled back: nothing was claimed
            raise
        if rows:
            state.cursor = rows[-1].id
        self._free += size - len(go)
        if len(rows) < size:
            self._exhausted(state, mono)
        # One request to the render workers for the whole batch, bounded in time.
        messages = await state.renderer.render_batch(
            self._renders,
            [
                (
                    row,
                    now.astimezone(zone(row.timezone, state.timezone)).date(),
                    points.get(row.customer_id, 0),
                )
                for row in go
            ],
        )
        for row, message in zip(go, messages, strict=True):
            if row.chat_id is None:  # ruled out by _check; keeps the type checker informed
                continue
            if isinstance(message, Deferred):
                later = now + timedelta(seconds=message.seconds)
                retry = Settle(row.id, OutboxStatus.PENDING, None, row.attempts, later)
                self._finish(row, state, retry)
                state.note_deferred(later)
                continue
            if isinstance(message, Skipped):
                self._finish(
                    row,
                    state,
                    Settle(row.id, OutboxStatus.SKIPPED, message.reason, attempts=row.attempts),
                )
                continue
            self._unpaced += 1
            await self._queue.put(_Job(row, row.chat_id, state, message))
        await template_notice.tell_once(self._sessions, self._messenger, state)

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
            wait = quiet_until(
                now, row.timezone or state.timezone, state.quiet_start, state.quiet_end
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

    # Sending -------------------------------------------------------------------------

    async def _work(self) -> None:
        while (job := await self._queue.get()) is not None:
            await self._send(job)

    async def _send(self, job: _Job) -> None:
        row, state, chat_id = job.row, job.state, job.chat_id
        paced = False
        while True:
            if self._stopping.is_set() or not state.claimable:
                # Not on the wire yet: back to pending (paused, engine stopping) or skipped.
                if not paced:
                    self._unpaced -= 1
                status = OutboxStatus.SKIPPED if state.stopped else OutboxStatus.PENDING
                reason = "stopped" if state.stopped else None
                self._finish(row, state, Settle(row.id, status, reason, row.attempts))
                return
            now = self._mono()
            chat_wait = self._chats.next_slot(chat_id, now)
            if chat_wait > 0:
                logger.debug("chat %d had a message %.2f s ago: waiting", chat_id, chat_wait)
                await self._sleep(chat_wait)
                continue
            async with self._pace:
                while not self._stopping.is_set():
                    now = self._mono()
                    gate, slot = self._gate.wait(now), self._bucket.next_slot(now)
                    if self._window is not None:
                        slot = max(slot, self._window.next_slot(now))
                    if gate <= 0 and slot <= 0:
                        break
                    if gate > 0:
                        logger.info("Telegram asked to wait: holding all sends for %.1f s", gate)
                    await self._sleep(max(gate, slot))
                if self._stopping.is_set():
                    continue
                now = self._mono()
                self._bucket.take(now)
                self._chats.take(chat_id, now)
                ticket = self._window.take(now) if self._window is not None else None
                if not paced:
                    self._unpaced -= 1
                    paced = True
            try:
                verdict = await self._deliver(job)
            except asyncio.CancelledError:
                # Cancelled on the wire at stop's deadline: Telegram may have it, so the row
                # is never sent again.
                unknown = Settle(row.id, OutboxStatus.UNKNOWN, IN_FLIGHT_AT_STOP, row.attempts + 1)
                self._finish(row, state, unknown)
                raise
            finally:
                if ticket is not None and self._window is not None:
                    self._window.answered(ticket, self._mono())
            if verdict is not None and verdict.outcome is Outcome.RETRY_AFTER_GATE:
                self._gate.close(self._mono(), verdict.retry_after)
                logger.info("429 on row %d: gate shut for %.1f s", row.id, verdict.retry_after)
                continue
            return

    async def _deliver(self, job: _Job) -> Verdict | None:
        row, state, message = job.row, job.state, job.message
        attempts = row.attempts + 1
        try:
            sent = await (self._sender or self._messenger).send_text(
                job.chat_id,
                message.text,
                message.buttons,
                paid_broadcast=self._settings.paid_broadcast or state.paid_broadcast,
            )
        except DeliveryError as exc:
            verdict = classify(exc)
        except Exception as exc:  # the port promises DeliveryError only; be safe anyway
            logger.exception("messenger raised %s on row %d", type(exc).__name__, row.id)
            verdict = Verdict(Outcome.RETRY_WITH_BACKOFF, type(exc).__name__)
        else:
            now = self._clock()
            self._finish(
                row,
                state,
                Settle(
                    row.id,
                    OutboxStatus.SENT,
                    None,
                    attempts,
                    tg_message_id=sent.message_id,
                    sent_at=now,
                ),
            )
            return None
        if verdict.outcome is Outcome.RETRY_AFTER_GATE:
            return verdict
        if verdict.outcome is Outcome.BLOCKED:
            settle = Settle(row.id, OutboxStatus.BLOCKED, verdict.reason, attempts)
        elif verdict.outcome is Outcome.FAILED or attempts >= self._settings.max_attempts:
            settle = Settle(row.id, OutboxStatus.FAILED, verdict.reason, attempts)
        else:
            delay = self._backoff.delay(attempts)
            at = self._clock() + timedelta(seconds=delay)
            logger.info("row %d: %s; retry %d in %.1f s", row.id, verdict.reason, attempts, delay)
            settle = Settle(
                row.id, OutboxStatus.PENDING, verdict.reason[:200], attempts, not_before_at=at
            )
            state.note_deferred(at)
        self._finish(row, state, settle, verdict)
        return verdict

    # Recording -----------------------------------------------------------------------

    def _finish(
        self, row: Claimed, state: run.RunState, settle: Settle, verdict: Verdict | None = None
    ) -> None:
        self._recorder.add(Done(settle, state.run_id, row.customer_id, verdict))

    def _release(self, slots: int) -> None:
        # Slots come back only once outcomes are committed: that bounds "sending" rows.
        self._free += slots
        self._freed.set()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stopping.wait()
