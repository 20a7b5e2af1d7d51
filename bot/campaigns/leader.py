"""Leadership: which of several workers fires schedules, elected by a PostgreSQL advisory lock.

The leader holds a session-level advisory lock on its own connection. The lock
goes with the connection, so a leader that dies (or loses its connection)
frees it and the next worker to ask takes over. SQLite means one process, which
is always the leader.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.crm.store import close_held
from bot.scheduler import Leadership, SoleLeader

logger = logging.getLogger(__name__)
# An arbitrary constant shared by every worker of the deployment ("scrm" in ASCII).
LOCK_KEY = 0x7363726D


class AdvisoryLeadership:
    """Leadership held as long as this process keeps a PostgreSQL advisory lock."""

    def __init__(self, engine: AsyncEngine, *, key: int = LOCK_KEY) -> None:
        self._engine = engine
        self._key = key
        self._conn: AsyncConnection | None = None
        self._leading = False
        # The scheduler and the delivery engine ask concurrently; one round trip at a time.
        self._lock = asyncio.Lock()

    async def is_leader(self) -> bool:
        """Return True while this process holds the lock, trying to take it when free."""
        async with self._lock:
            try:
                if self._leading:
                    await self._alive()
                else:
                    await self._try_take()
            except (DBAPIError, SQLAlchemyError, OSError):
                logger.warning("leadership lost: the database connection failed")
                await self._drop()
            return self._leading

    async def release(self) -> None:
        """Give up the lock (on shutdown) so another worker can lead at once."""
        async with self._lock:
            if self._conn is not None and self._leading:
                try:
                    await self._conn.execute(
                        text("SELECT pg_advisory_unlock(:key)"), {"key": self._key}
                    )
                except (DBAPIError, SQLAlchemyError, OSError):
                    logger.warning("could not release leadership; closing the connection")
            await self._drop()

    async def _try_take(self) -> None:
        if self._conn is None:
            conn = await self._engine.connect()
            # Autocommit: no transaction is left open while the lock is held.
            self._conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        took = await self._conn.scalar(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": self._key}
        )
        if took:
            self._leading = True
            logger.info("this process is now the leader")

    async def _alive(self) -> None:
        assert self._conn is not None  # noqa: S101 - leading implies a connection
        await self._conn.execute(text("SELECT 1"))

    async def _drop(self) -> None:
        self._leading = False
        conn, self._conn = self._conn, None
        await close_held(conn, "leadership")


def leadership_for(engine: AsyncEngine) -> Leadership:
    """Return the advisory-lock leadership on PostgreSQL, else the sole leader."""
    if engine.dialect.name == "postgresql":
        return AdvisoryLeadership(engine)
    return SoleLeader()
