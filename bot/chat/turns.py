"""A chat's turn across workers: a PostgreSQL transaction-level advisory lock per chat.

Several workers behind one webhook may get two deliveries of one chat at once (a
redelivery while the first is still being handled). The update's transaction
takes its chat's lock first and holds it until commit or rollback, so the two
run one after the other, and the second sees the first's update id claimed and
its dialog state written. The wait is bounded by the connection's
``lock_timeout`` (``scaleout.lock_timeout_seconds``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, func, literal, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crm.models import ProcessedUpdate, UtcDateTime

# The first key of every chat lock ("scrc" in ASCII); two-key advisory locks never
# meet the leader's single-key one.
SPACE = 0x73637263
# PostgreSQL's error code for a lock not had within lock_timeout.
LOCK_NOT_AVAILABLE = "55P03"
_TAKE = text("SELECT pg_advisory_xact_lock(:space, :chat)")


def chat_key(chat_id: int) -> int:
    """Return the int4 second key of a chat's lock (chats that share one just take turns)."""
    return (chat_id + 2**31) % 2**32 - 2**31


async def take(session: AsyncSession, chat_id: int) -> None:
    """Wait for the chat's turn; it lasts until the session's transaction ends."""
    await session.execute(_TAKE, {"space": SPACE, "chat": chat_key(chat_id)})


async def claim(session: AsyncSession, *, update_id: int, chat_id: int, at: datetime) -> bool:
    """Wait for the chat's turn, then record the update as handled; return False if it was.

    One statement, one round trip: the row to insert is selected from the lock call,
    so the lock is held before the update id is looked at.
    """
    turn = select(func.pg_advisory_xact_lock(SPACE, chat_key(chat_id)).label("turn")).subquery()
    claimed = await session.scalar(
        pg_insert(ProcessedUpdate)
        .from_select(
            ["update_id", "at"],
            select(literal(update_id, BigInteger), literal(at, UtcDateTime())).select_from(turn),
        )
        .on_conflict_do_nothing(index_elements=[ProcessedUpdate.update_id])
        .returning(ProcessedUpdate.update_id)
    )
    return claimed is not None


def timed_out(error: BaseException) -> bool:
    """Return True when ``error`` is PostgreSQL giving up a lock wait at lock_timeout."""
    if not isinstance(error, DBAPIError):
        return False
    orig = error.orig
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return code == LOCK_NOT_AVAILABLE


def deliver_again(error: BaseException) -> bool:
    """Return True when an update that failed so is better delivered again than apologised for.

    A lock not had in time, or a pooled connection found dead (several workers use no
    pre-ping): nothing was committed, and the next delivery finds the chat free or a
    fresh connection.
    """
    if timed_out(error):
        return True
    return isinstance(error, DBAPIError) and bool(error.connection_invalidated)
