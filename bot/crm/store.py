"""The store: engine, session factory and one unit of work per update or job."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine.interfaces import DBAPIConnection, ExceptionContext
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

SQLITE_BUSY_TIMEOUT_MS = 5000
APPLICATION_NAME = "scrm-bot"


def create_engine(
    url: str,
    *,
    echo: bool = False,
    application_name: str = APPLICATION_NAME,
    lock_timeout_seconds: float | None = None,
    pre_ping: bool = True,
) -> AsyncEngine:
    """Create the async engine; SQLite gets WAL, a busy timeout and foreign keys.

    On PostgreSQL the connections carry ``application_name``, so that a restore
    can tell whether a bot is still connected, and ``lock_timeout_seconds`` bounds
    every lock wait (several workers). ``pre_ping`` tests a pooled connection with
    a round trip before each use; several workers go without (a connection that
    died fails its update, which Telegram then delivers again).
    """
    # Statement parameters are customer data (names, phones, notes): keep them out of
    # error messages, tracebacks and the echo log.
    if url.startswith("sqlite"):
        engine = create_async_engine(
            url, echo=echo, hide_parameters=True, connect_args={"timeout": 30}
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    server_settings = {"application_name": application_name}
    if lock_timeout_seconds is not None:
        server_settings["lock_timeout"] = str(round(lock_timeout_seconds * 1000))
    engine = create_async_engine(
        url,
        echo=echo,
        hide_parameters=True,
        pool_pre_ping=pre_ping,
        connect_args={"server_settings": server_settings},
    )
    event.listen(engine.sync_engine, "handle_error", _drop_postgres_detail)
    return engine


def _drop_postgres_detail(context: ExceptionContext) -> None:
    # PostgreSQL repeats the offending values in its DETAIL line ("Key (phone)=(+86…)
    # already exists"); the constraint name in the first line says enough.
    for error in (
        context.original_exception,
        getattr(context.original_exception, "__cause__", None),
    ):
        if error is None or not error.args or not isinstance(error.args[0], str):
            continue
        first, *_rest = error.args[0].split("\nDETAIL:", 1)
        error.args = (first, *error.args[1:])
        if hasattr(error, "detail"):
            error.detail = None


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    # WAL lets readers run beside the single writer; the busy timeout makes a
    # second writer wait instead of failing at once; SQLite leaves FKs off by default.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def insert_of(session: AsyncSession) -> Callable[..., Any]:
    """Return the database's own ``insert`` (with ``on_conflict_do_nothing``) for ``session``."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Return the session factory; objects stay usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


def engine_of(sessions: async_sessionmaker[AsyncSession]) -> AsyncEngine:
    """Return the engine a session factory is bound to (for work on a connection of its own)."""
    engine = sessions.kw.get("bind")
    if not isinstance(engine, AsyncEngine):
        msg = "the session factory is not bound to an engine"
        raise TypeError(msg)
    return engine


@asynccontextmanager
async def batches_apart(
    engine: AsyncEngine, *, pause: float
) -> AsyncIterator[tuple[AsyncSession, Callable[[], Awaitable[None]]]]:
    """Open a session on a connection of its own whose ``between()`` commits and pauses.

    Long recomputations write in batches and call ``between()`` after each, so on
    SQLite the single write lock is free for other shops for ``pause`` seconds at a
    time. What is left is committed when the block succeeds and rolled back when it
    raises; batches already committed stay.
    """
    async with engine.connect() as connection:
        # Bound to one connection, the session keeps temporary tables across commits.
        session = AsyncSession(bind=connection, expire_on_commit=False)

        async def between() -> None:
            await session.commit()
            await asyncio.sleep(pause)

        try:
            yield session, between
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
        finally:
            await session.close()


@asynccontextmanager
async def unit_of_work(
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """Open a session, commit it when the block succeeds and roll back when it raises."""
    async with sessions() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        await session.commit()


async def close_held(conn: AsyncConnection | None, what: str) -> None:
    """Close a connection held for a session-level lock, saying so if that fails.

    Closing it frees the lock (leadership, a worker's presence); a connection that is
    already broken has freed it too, so a failure is only worth a warning.
    """
    if conn is None:
        return
    try:
        await conn.close()
    except (DBAPIError, SQLAlchemyError, OSError):
        logging.getLogger(__name__).warning("closing the %s connection failed", what)
