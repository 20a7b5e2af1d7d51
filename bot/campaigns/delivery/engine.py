"""The delivery engine: starts and stops the feeder, the senders and the recorder, and scans runs.

One feeder (``feeder``) claims small batches of due rows just ahead of the
global pace, so a row is ``sending`` only shortly before its request;
``concurrency`` workers (``sender``) send; one recorder writes finished rows in
groups (one transaction per group) and only then frees their slots, which
bounds the ``sending`` rows, and so the ``unknown`` ones after a crash, by
``concurrency``. The scan loop here keeps the list of runs fresh and, on the
leader only, materialises new runs, sweeps stopped ones and finishes and
reports those with nothing left.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.campaigns.delivery import outbox, run
from bot.campaigns.delivery.book import RunBook
from bot.campaigns.delivery.feeder import Feeder
from bot.campaigns.delivery.recorder import Recorder
from bot.campaigns.delivery.sender import Senders
from bot.campaigns.delivery.shared_pace import SharedPace
from bot.campaigns.delivery.wiring import Wiring
from bot.campaigns.presence import SPACE as PRESENCE_SPACE
from bot.campaigns.presence import WorkerPresence
from bot.campaigns.render_pool import RenderPool
from bot.config import DeliverySettings
from bot.crm.models import utcnow
from bot.crm.store import SQLITE_BUSY_TIMEOUT_MS, unit_of_work
from bot.messaging import CanBroadcast, Messenger
from bot.scheduler import Leadership, SoleLeader

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]
# How often the run list is refreshed when nothing wakes the engine.
SCAN_INTERVAL = 1.0
# On PostgreSQL other processes may be sending: only rows this old are crash leftovers.
SENDING_LEASE = timedelta(minutes=15)
# stop() returns within about this many seconds in every state (a messenger that never
# answers, a locked database): SIGTERM must end the process promptly.
STOP_TIMEOUT = 5.0
# Of that time, the feeder gets up to a third to finish the claim it is in, and the
# recorder keeps the last third to write the outcomes once the workers are done.
FEEDER_SHARE = RECORD_SHARE = 1 / 3
# How long a database call cancelled at the deadline may take to unwind (SQLite's busy wait).
UNWIND = SQLITE_BUSY_TIMEOUT_MS / 1000 + 0.5


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
        shared_pace: SharedPace | None = None,
        presence: WorkerPresence | None = None,
    ) -> None:
        worker = presence.key if presence is not None else None
        self._wiring = Wiring(sessions, messenger, settings, clock, monotonic, worker=worker)
        self._presence = presence
        self._leadership: Leadership = leadership or SoleLeader()
        self._scan_interval = scan_interval
        self._stop_timeout = stop_timeout
        # Admin-written templates are filled in by worker processes, never on this loop.
        self._renders = renders or RenderPool()
        self._owns_renders = renders is None
        self._book = RunBook(sessions, clock)
        self._wake = asyncio.Event()
        self._recorder = Recorder(self._wiring, self._book, on_written=self._release)
        self._senders = Senders(self._wiring, self._recorder, rng=rng, shared=shared_pace)
        self._feeder = Feeder(
            self._wiring,
            self._book,
            self._senders,
            self._renders,
            scan_interval=scan_interval,
            wake=self._wake,
        )
        self._tasks: list[asyncio.Task[None]] = []
        self._recording: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Recover rows a crash left in flight, then start scanning, claiming and sending."""
        if self._tasks:
            return
        now = self._wiring.clock()
        async with unit_of_work(self._wiring.sessions) as session:
            single = session.get_bind().dialect.name == "sqlite"
            stale = None if single else now - SENDING_LEASE
            lost = await outbox.recover(session, now=now, stale_before=stale)
        if lost:
            logger.warning("%d messages were in flight at the last stop: marked unknown", lost)
        broadcaster = None
        if isinstance(self._wiring.messenger, CanBroadcast):
            broadcaster = self._wiring.messenger.open_broadcast(self._wiring.settings.concurrency)
        self._senders.start(broadcaster)
        self._recording = asyncio.create_task(self._recorder.serve(), name="delivery-recorder")
        self._tasks = [
            asyncio.create_task(self._scan(), name="delivery-scan"),
            asyncio.create_task(self._feeder.serve(), name="delivery-feeder"),
        ]
        logger.info(
            "delivery engine started: %.0f msg/s, %d in flight at most",
            self._wiring.settings.rate_per_second,
            self._wiring.settings.concurrency,
        )

    async def stop(self) -> None:
        """Stop claiming; let requests on the wire finish and record them; put the rest back.

        Returns within about ``stop_timeout`` seconds whatever the state. A request
        still unanswered by then is cancelled and its row recorded ``unknown``; rows
        claimed but never sent (queued, or still being rendered) go back to pending.
        If the database does not take the last outcomes in time, their rows stay
        ``sending`` and the next start records them ``unknown``. Either way no row
        is sent twice.
        """
        if self._wiring.stopping.is_set() or not self._tasks:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._stop_timeout
        self._wiring.stopping.set()
        self._wake.set()
        self._feeder.freed.set()
        scan, feed = self._tasks
        scan.cancel()
        # The feeder is not cancelled mid-claim if it can help it: a claim cut short in its
        # commit leaves rows "sending" that a restart calls unknown. Cancelled later (in a
        # render, say), it hands the rows it claimed back as pending. Emptying the queue
        # meanwhile keeps it from blocking there.
        feeder_until = loop.time() + self._stop_timeout * FEEDER_SHARE
        while not feed.done() and (left := feeder_until - loop.time()) > 0:
            self._senders.put_back_queued()
            await asyncio.wait({feed}, timeout=min(left, 0.05))
        feed.cancel()
        # A task cancelled inside a database call may take a while to unwind: not waited for.
        await asyncio.wait({scan, feed}, timeout=max(0.0, min(0.5, deadline - loop.time())))
        self._senders.put_back_queued()
        workers = self._senders.workers
        # One "no more work" per worker; those mid-send finish first, until the deadline.
        for _ in workers:
            self._senders.queue.put_nowait(None)
        workers_until = deadline - self._stop_timeout * RECORD_SHARE
        _, stuck = await asyncio.wait(workers, timeout=max(0.0, workers_until - loop.time()))
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
        if self._senders.broadcaster is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await self._senders.broadcaster.aclose()
        if self._owns_renders:
            await self._renders.close()
        logger.info("delivery engine stopped")

    def wake(self) -> None:
        """Look for new runs and rows now instead of at the next scan."""
        self._book.touch()
        self._wake.set()

    # The scan loop -------------------------------------------------------------------

    async def _scan(self) -> None:
        while not self._wiring.stopping.is_set():
            try:
                if self._presence is not None:
                    await self._presence.keep()
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
        now = self._wiring.clock()
        if self._book.single_process is False:
            async with unit_of_work(self._wiring.sessions) as session:
                await outbox.recover(session, now=now, stale_before=now - SENDING_LEASE)
                # Rows of a worker that died are known at once by its missing presence lock.
                lost = await outbox.recover_orphans(session, space=PRESENCE_SPACE, now=now)
            if lost:
                logger.warning("%d messages were in flight on a stopped worker: unknown", lost)
        await self._book.materialise(self._wiring.settings.batch_size * 40, self._wiring.stopping)
        for run_id in await self._book.close_finished():
            await self._send_report(run_id)
        async with self._wiring.sessions() as session:
            waiting = await run.unreported(session)
        for run_id in waiting:
            await self._send_report(run_id)

    async def _send_report(self, run_id: int) -> None:
        # The report is a message like the run's: it waits its turn in the pace (taken
        # before the run is marked reported, so a stop cannot fall between the two).
        await self._senders.turn()
        now = self._wiring.clock()
        async with unit_of_work(self._wiring.sessions) as session:
            rep = await run.report(session, run_id)
            people = await run.admins_to_tell(session, run_id)
            # Marked before sending: a crash mid-way loses a notice rather than repeating it.
            await run.mark_reported(session, run_id, now=now)
        texts = {locale: run.format_report(rep, locale) for _, locale in people}
        for i, person in enumerate(people):
            if i:
                await self._senders.turn()
            await run.tell(self._wiring.messenger, [person], texts)
        logger.info("run %d finished: %s", run_id, rep.to_json())

    def _release(self, slots: int) -> None:
        self._feeder.release(slots)
