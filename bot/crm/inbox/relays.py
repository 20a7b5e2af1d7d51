"""Relays: messages in members' chats that stand for a conversation, so replies find it.

Every message the bot puts into a member's chat about a customer's message (the
copied content, the notice with its buttons) is recorded with ``record_relay``,
or, after commit and many at once, with ``record_relays_together``. When the
member answers with Telegram's own reply, ``thread_of_relay`` finds the
conversation from the replied-to message's chat and id.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crm.inbox.access import may_handle
from bot.crm.models import Customer, Member, Relay, RelayRole, Thread, utcnow
from bot.crm.store import unit_of_work

Sessions = async_sessionmaker[AsyncSession]


@dataclass(frozen=True, slots=True)
class RelayRow:
    """A message in a member's chat to remember as standing for a conversation."""

    workspace_id: int
    thread_id: int
    member_id: int
    staff_chat_id: int
    staff_message_id: int
    role: RelayRole
    message_id: int | None = None


@dataclass(frozen=True, slots=True)
class Relayed:
    """The conversation a message in a member's chat stands for."""

    thread: Thread
    customer: Customer
    message_id: int | None


async def record_relay(
    session: AsyncSession,
    *,
    thread: Thread,
    member: Member,
    staff_chat_id: int,
    staff_message_id: int,
    role: RelayRole,
    message_id: int | None = None,
) -> Relay:
    """Remember that a message in a member's chat stands for ``thread`` (and its message)."""
    relay = Relay(
        workspace_id=thread.workspace_id,
        thread_id=thread.id,
        message_id=message_id,
        member_id=member.id,
        role=role,
        staff_chat_id=staff_chat_id,
        staff_message_id=staff_message_id,
    )
    session.add(relay)
    await session.flush()
    return relay


async def thread_of_relay(
    session: AsyncSession, *, actor: Member, staff_chat_id: int, staff_message_id: int
) -> Relayed | None:
    """Return the conversation a message in a member's chat stands for.

    None when the message is no relay, belongs to another shop, or its thread is
    outside the actor's reach: the reply is then an ordinary message.
    """
    row = (
        await session.execute(
            select(Relay, Thread)
            .join(Thread, Thread.id == Relay.thread_id)
            .where(
                Relay.staff_chat_id == staff_chat_id,
                Relay.staff_message_id == staff_message_id,
                Relay.workspace_id == actor.workspace_id,
            )
        )
    ).first()
    if row is None or not actor.active:
        return None
    relay, thread = row
    if not await may_handle(session, actor=actor, thread=thread):
        return None
    customer = await session.get(Customer, thread.customer_id)
    assert customer is not None  # noqa: S101 - enforced by the foreign key
    return Relayed(thread, customer, relay.message_id)


async def is_relay(session: AsyncSession, *, staff_chat_id: int, staff_message_id: int) -> bool:
    """Return whether a message in a member's chat stands for any conversation at all."""
    found = await session.scalar(
        select(Relay.id).where(
            Relay.staff_chat_id == staff_chat_id, Relay.staff_message_id == staff_message_id
        )
    )
    return found is not None


async def record_relays(session: AsyncSession, rows: Sequence[RelayRow]) -> None:
    """Remember several relayed messages in one statement."""
    if rows:
        now = utcnow()
        await session.execute(insert(Relay), [{**asdict(r), "created_at": now} for r in rows])


@dataclass(slots=True)
class _Batch:
    rows: list[RelayRow] = field(default_factory=list)
    written: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


# The batch still taking rows, and the lock its writer waits for, per session factory
# (one per process and database).
_open_batches: weakref.WeakKeyDictionary[Sessions, _Batch] = weakref.WeakKeyDictionary()
_writers: weakref.WeakKeyDictionary[Sessions, asyncio.Lock] = weakref.WeakKeyDictionary()


async def record_relays_together(sessions: Sessions, rows: Sequence[RelayRow]) -> None:
    """Record relayed messages in a transaction shared with the others waiting to.

    Relays are recorded after their messages were sent, outside the update's unit
    of work. When many customers write at once, one transaction per relay makes
    them queue for SQLite's single writer; here one transaction at a time writes
    relays, and every row handed in while it ran goes into the next one (group
    commit). Returns once the rows are committed; raises what that transaction raised.
    """
    batch = _open_batches.get(sessions)
    if batch is not None:
        batch.rows.extend(rows)
        await asyncio.shield(batch.written)
        return
    batch = _Batch(list(rows))
    _open_batches[sessions] = batch
    writer = _writers.setdefault(sessions, asyncio.Lock())
    try:
        async with writer:
            # Rows handed in from here on go to the next batch.
            if _open_batches.get(sessions) is batch:
                del _open_batches[sessions]
            async with unit_of_work(sessions) as session:
                await record_relays(session, batch.rows)
    except BaseException as exc:
        if _open_batches.get(sessions) is batch:
            del _open_batches[sessions]
        failure = exc if isinstance(exc, Exception) else RuntimeError("relays not recorded")
        batch.written.set_exception(failure)
        # Retrieved here so that callers who gave up waiting leave no warning behind.
        batch.written.exception()
        raise
    batch.written.set_result(None)
