"""The campaign pace every worker shares: send slots reserved in one PostgreSQL row.

With several workers a per-process bucket would let each send at the full rate.
Instead a worker reserves a short block of slots (about 0.1 s of the pace) by
moving the row's ``next_at`` on in one statement; the database's clock places the
block, so workers on different machines agree. A 429 seen by any worker moves
``paused_until`` on, and every later reservation starts after it. A slot its
worker wakes too late for is skipped rather than sent late: a late message would
share Telegram's one-second window with the next worker's on-time ones.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.campaigns.delivery.ratelimit import HEADROOM
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
# After a failed reservation (the database is away) the sender looks again this late.
RETRY_SECONDS = 1.0

_RESERVE = text(
    """
    INSERT INTO send_pace AS p (id, next_at, paused_until)
    VALUES (:id, clock_timestamp() + make_interval(secs => CAST(:span AS double precision)),
            clock_timestamp())
    ON CONFLICT (id) DO UPDATE
    SET next_at = GREATEST(p.next_at, clock_timestamp(), p.paused_until)
                  + make_interval(secs => CAST(:span AS double precision))
    RETURNING CAST(EXTRACT(EPOCH FROM (p.next_at - clock_timestamp())) AS double precision)
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
        headroom: float = HEADROOM,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self.interval = 1.0 / (rate * headroom)
        self.block = min(MAX_BLOCK, max(1, round(BLOCK_SECONDS / self.interval)))
        self._monotonic = monotonic
        self._slots: deque[float] = deque()
        self.skipped = 0

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

    async def pause(self, seconds: float) -> None:
        """Hold every worker's sends for ``seconds`` (Telegram's retry_after)."""
        try:
            async with unit_of_work(self._sessions) as session:
                await session.execute(_PAUSE, {"id": PACE_ROW, "wait": max(seconds, 0.0)})
        except (DBAPIError, SQLAlchemyError, OSError):
            logger.warning("could not share a retry_after of %.1f s with all workers", seconds)

    async def _reserve(self) -> None:
        span = self.block * self.interval
        before = self._monotonic()
        async with unit_of_work(self._sessions) as session:
            ends_in = await session.scalar(_RESERVE, {"id": PACE_ROW, "span": span})
        # The database placed the block ``ends_in - span`` from its now, which was
        # somewhere during the round trip: its middle is the best guess here.
        start = (before + self._monotonic()) / 2 + float(ends_in or 0.0) - span
        self._slots.extend(start + i * self.interval for i in range(self.block))
