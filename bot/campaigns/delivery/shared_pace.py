"""The campaign pace every worker shares: send slots reserved in one PostgreSQL row.

With several workers a per-process bucket would let each send at the full rate.
Instead a worker reserves a short block of slots (about 0.1 s of the pace) by
moving the row's ``next_at`` on in one statement; the database's clock places the
block, so workers on different machines agree, and each worker reads that clock
against its own from its quickest recent round trips (a slow one, waiting for the
row's lock, would otherwise misplace its slots by half its length). A 429 seen by any worker moves
``paused_until`` on, and every later reservation starts after it. A slot its
worker wakes too late for is skipped rather than sent late: a late message would
share Telegram's one-second window with the next worker's on-time ones. And a
message that still arrived late (its answer slower than the fastest recent one by
more than the pace's slack: a busy machine, a stalled server) sets a hold: the
slot a second after it, whichever worker reserves it, waits until a second after
that message's arrival (the ``ArrivalWindow`` of ``ratelimit``, for all workers).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crm.store import unit_of_work

logger = logging.getLogger(__name__)

PACE_ROW = 1
# How much of the pace one reservation covers: short, so a 429 or a dead worker
# wastes little, and long enough that reservations stay a few per second per worker.
BLOCK_SECONDS = 0.1
# At paid-broadcast rates a block holds at most this many slots.
MAX_BLOCK = 256
# A slot is still used this late (s); later it is skipped.
LATE_SLOT = 0.008
# Recent reservations whose round trips place the database's clock against ours.
CLOCK_SAMPLES = 32
# Kept between a late message's arrival and the one a second after it (s).
ARRIVAL_MARGIN = 0.002
# After a failed reservation (the database is away) the sender looks again this late.
RETRY_SECONDS = 1.0
# The share of the rate the workers use together. One process paces at 0.99 (ratelimit's
# HEADROOM): it sees every arrival itself, so ``limit`` slots spanning 1.01 s are enough.
# Across workers each places its slots by its own reading of the database's clock and
# learns of another's late arrival only after it: 3 % leaves 31 ms of slack in every
# second for those errors (1 % had left 10 ms, and a 429 was seen at a cold start of
# three workers on two busy cores).
SHARED_HEADROOM = 0.97

_ENSURE = text(
    """
    INSERT INTO send_pace (id, next_at, paused_until)
    VALUES (:id, clock_timestamp(), clock_timestamp())
    ON CONFLICT (id) DO NOTHING
    """
)
# A block starts at the pace's next free moment, never before a pause ends. A block
# that would reach a hold (the second after a late message) stops short of it, and
# the first block at or past it starts no earlier than the hold's end, using it up.
# Returns when the block starts (seconds from now) and how many slots it holds.
_RESERVE = text(
    """
    WITH cur AS (
        SELECT GREATEST(next_at, clock_timestamp(), paused_until) AS base,
               hold_from, hold_until
        FROM send_pace WHERE id = :id FOR UPDATE
    ), plan AS (
        SELECT CASE WHEN hold_from IS NOT NULL AND base >= hold_from
                    THEN GREATEST(base, hold_until) ELSE base END AS start,
               hold_from IS NOT NULL AND base >= hold_from AS used,
               hold_from
        FROM cur
    ), sized AS (
        SELECT start, used,
               CASE WHEN NOT used AND hold_from IS NOT NULL
                         AND start + make_interval(secs => CAST(:span AS double precision))
                             > hold_from
                    THEN GREATEST(1, CEIL(EXTRACT(EPOCH FROM (hold_from - start))
                                          / CAST(:interval AS double precision)))
                    ELSE CAST(:block AS integer) END AS slots
        FROM plan
    )
    UPDATE send_pace AS p
    SET next_at = sized.start
                  + make_interval(secs => sized.slots * CAST(:interval AS double precision)),
        hold_from = CASE WHEN sized.used THEN NULL ELSE p.hold_from END,
        hold_until = CASE WHEN sized.used THEN NULL ELSE p.hold_until END
    FROM sized
    WHERE p.id = :id
    RETURNING CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS double precision),
              CAST(EXTRACT(EPOCH FROM sized.start) AS double precision),
              CAST(sized.slots AS integer)
    """
)
# Two holds close together become one: from the earlier start to the later end.
_HOLD = text(
    """
    UPDATE send_pace AS p
    SET hold_from = LEAST(COALESCE(p.hold_from, 'infinity'),
                          to_timestamp(CAST(:start AS double precision))),
        hold_until = GREATEST(p.hold_until, to_timestamp(CAST(:until AS double precision)))
    WHERE p.id = :id
    """
)
_PAUSE = text(
    """
    INSERT INTO send_pace AS p (id, next_at, paused_until)
    VALUES (:id, clock_timestamp(),
            clock_timestamp() + make_interval(secs => CAST(:wait AS double precision)))
    ON CONFLICT (id) DO UPDATE
    SET paused_until = GREATEST(p.paused_until, clock_timestamp()
                                + make_interval(secs => CAST(:wait AS double precision)))
    """
)


class SharedPace:
    """Send slots at ``rate`` per second for all workers together, reserved a block at a time."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        rate: float,
        *,
        headroom: float = SHARED_HEADROOM,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self.interval = 1.0 / (rate * headroom)
        # Telegram counts arrivals in one-second windows: ``limit`` of them fit in one.
        self.limit = max(1, int(rate))
        # How late a message may arrive before the one ``limit`` places on is too close.
        self.slack = self.limit * self.interval - 1.0
        self.block = min(MAX_BLOCK, max(1, round(BLOCK_SECONDS / self.interval)))
        self._monotonic = monotonic
        self._slots: deque[float] = deque()
        self._ensured = False
        # (round trip, database clock minus ours) of recent reservations.
        self._samples: deque[tuple[float, float]] = deque(maxlen=CLOCK_SAMPLES)
        self._offset: float | None = None
        self.skipped = 0

    @property
    def clock_offset(self) -> float | None:
        """The database's clock minus this process's, as last read (None before any)."""
        return self._offset

    async def next_slot(self, now: float) -> float:
        """Return the seconds to wait for this worker's next slot, reserving a block if needed."""
        slots = self._slots
        while slots and slots[0] < now - LATE_SLOT:
            slots.popleft()
            self.skipped += 1
        if not slots:
            try:
                await self._reserve()
            except (DBAPIError, SQLAlchemyError, OSError):
                logger.warning("could not reserve send slots; again in %.0f s", RETRY_SECONDS)
                return RETRY_SECONDS
            now = self._monotonic()
        wait = slots[0] - now
        return wait if wait > 0 else 0.0

    def take(self) -> None:
        """Use up the slot ``next_slot`` said is due."""
        if self._slots:
            self._slots.popleft()

    def matters(self, lateness: float) -> bool:
        """Return True when a message this late (s) could put one too many in a second."""
        return lateness + ARRIVAL_MARGIN > self.slack

    async def hold(self, sent: float, lateness: float) -> None:
        """Hold back the slots a second after a message sent at ``sent`` (monotonic s).

        It arrived up to ``lateness`` late: the message ``limit`` places after it, on
        whichever worker, must not arrive within a second of it, as Telegram counts.
        """
        if self._offset is None:
            return
        start = sent + self.limit * self.interval - self.interval / 2 + self._offset
        until = sent + lateness + 1.0 + ARRIVAL_MARGIN + self._offset
        try:
            async with unit_of_work(self._sessions) as session:
                await session.execute(_HOLD, {"id": PACE_ROW, "start": start, "until": until})
        except (DBAPIError, SQLAlchemyError, OSError):
            logger.warning("could not share a late arrival with the other workers")

    async def pause(self, seconds: float) -> None:
        """Hold every worker's sends for ``seconds`` (Telegram's retry_after)."""
        try:
            async with unit_of_work(self._sessions) as session:
                await session.execute(_PAUSE, {"id": PACE_ROW, "wait": max(seconds, 0.0)})
        except (DBAPIError, SQLAlchemyError, OSError):
            logger.warning("could not share a retry_after of %.1f s with all workers", seconds)

    async def _reserve(self) -> None:
        params = {
            "id": PACE_ROW,
            "span": self.block * self.interval,
            "interval": self.interval,
            "block": self.block,
        }
        async with unit_of_work(self._sessions) as session:
            if not self._ensured:
                await session.execute(_ENSURE, {"id": PACE_ROW})
                self._ensured = True
            before = self._monotonic()
            db_now, db_start, slots = (await session.execute(_RESERVE, params)).one()
            after = self._monotonic()
        offset = self._clock_offset(float(db_now), before, after)
        start = float(db_start) - offset
        self._slots.extend(start + i * self.interval for i in range(int(slots)))

    def _clock_offset(self, db_now: float, before: float, after: float) -> float:
        """Return the database's clock minus this process's, from the tightest recent sample.

        The database read its clock somewhere in the round trip (after waiting for the
        row's lock, or before this process was descheduled): the quickest round trips
        of late say best where (as NTP does), so a slow one does not misplace slots.
        """
        self._samples.append((after - before, db_now - (before + after) / 2))
        self._offset = min(self._samples)[1]
        return self._offset
