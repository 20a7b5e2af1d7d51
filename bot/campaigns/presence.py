"""Presence: each worker on PostgreSQL holds an advisory lock under its own key while it lives.

A worker writes its key on the outbox rows it claims. The lock goes with the
worker's connection, so when a worker dies (SIGKILL, a lost machine) its lock is
gone at once and the leader knows which ``sending`` rows were its in-flight ones
(``outbox.recover_orphans``): they become ``unknown`` within a scan instead of
after a lease, and the run finishes.
"""

from __future__ import annotations

import asyncio
import logging
import secrets

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.crm.store import close_held

logger = logging.getLogger(__name__)
# The first key of every worker's two-key advisory lock ("scrw" in ASCII); the
# leader's single-key lock and the per-chat locks live in other key spaces.
SPACE = 0x73637277
# Keys are positive int4 values (PostgreSQL shows them as the lock's objid).
_KEYS = 2**31 - 1
# Tries to find a key nobody holds; with 2^31 keys and a handful of workers, one.
_TRIES = 5


class WorkerPresence:
    """This worker's presence lock and the key it claims rows under."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self.key = secrets.randbelow(_KEYS) + 1
        self._conn: AsyncConnection | None = None
        self._lock = asyncio.Lock()

    async def keep(self) -> bool:
        """Hold the lock, taking it again after a lost connection; return whether it is held."""
        async with self._lock:
            try:
                if self._conn is not None:
                    await self._conn.execute(text("SELECT 1"))
                    return True
                return await self._take()
            except (DBAPIError, SQLAlchemyError, OSError):
                logger.warning("worker presence lost: the database connection failed")
                await self._drop()
                return False

    async def release(self) -> None:
        """Give the lock up (on shutdown)."""
        async with self._lock:
            await self._drop()

    async def _take(self) -> bool:
        conn = await self._engine.connect()
        # Autocommit: no transaction is left open while the lock is held.
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        self._conn = conn
        for _ in range(_TRIES):
            took = await conn.scalar(
                text("SELECT pg_try_advisory_lock(:space, :key)"),
                {"space": SPACE, "key": self.key},
            )
            if took:
                return True
            # Only before the first claim: afterwards the key is on rows and stays.
            self.key = secrets.randbelow(_KEYS) + 1
        await self._drop()
        return False

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        await close_held(conn, "presence")
