"""A chat's turn across workers: a PostgreSQL transaction-level advisory lock per chat.

Several workers behind one webhook may get two deliveries of one chat at once (a
redelivery while the first is still being handled). The update's transaction
takes its chat's lock first and holds it until commit or rollback, so the two
run one after the other, and the second sees the first's update id claimed and
its dialog state written. The wait is bounded by the connection's
``lock_timeout`` (``scaleout.lock_timeout_seconds``).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

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


def timed_out(error: BaseException) -> bool:
    """Return True when ``error`` is PostgreSQL giving up a lock wait at lock_timeout."""
    if not isinstance(error, DBAPIError):
        return False
    orig = error.orig
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return code == LOCK_NOT_AVAILABLE
