"""A chat's turn on PostgreSQL: a second delivery of a chat waits, boundedly; others don't."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from bot.chat import turns
from bot.crm.store import create_engine, create_sessionmaker, unit_of_work

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_url(db_url: str) -> str:
    """Return the URL when it is PostgreSQL's: chat turns are for several workers."""
    if not db_url.startswith("postgresql"):
        pytest.skip("chat turns are for several workers on PostgreSQL; SQLite is one process")
    return db_url


async def test_one_chat_waits_for_its_turn_and_gives_up_at_the_lock_timeout(pg_url: str) -> None:
    holder, waiter = create_engine(pg_url), create_engine(pg_url, lock_timeout_seconds=0.3)
    try:
        first, second = create_sessionmaker(holder), create_sessionmaker(waiter)
        async with unit_of_work(first) as session:
            await turns.take(session, 42)
            # Another chat goes on at once while chat 42 is busy.
            async with unit_of_work(second) as other:
                await asyncio.wait_for(turns.take(other, 43), 2)
            with pytest.raises(Exception) as raised:  # noqa: PT011 - checked just below
                async with unit_of_work(second) as other:
                    await turns.take(other, 42)
            assert turns.timed_out(raised.value)
        # Its turn is free once the first transaction ended.
        async with unit_of_work(second) as other:
            await asyncio.wait_for(turns.take(other, 42), 2)
    finally:
        await holder.dispose()
        await waiter.dispose()


def test_every_chat_id_has_an_int4_key() -> None:
    for chat in (0, 1, -1, 2**31, -(2**31) - 1, 2**52, -(10**12)):
        assert -(2**31) <= turns.chat_key(chat) < 2**31
    assert turns.chat_key(7) != turns.chat_key(8)
    assert not turns.timed_out(ValueError("not a database error"))
    assert not turns.deliver_again(ValueError("not a database error"))


async def test_claiming_takes_the_turn_and_records_the_update_once(pg_url: str) -> None:
    holder, waiter = create_engine(pg_url), create_engine(pg_url, lock_timeout_seconds=0.3)
    at = datetime.now(UTC)
    try:
        first, second = create_sessionmaker(holder), create_sessionmaker(waiter)
        async with unit_of_work(first) as session:
            assert await turns.claim(session, update_id=1, chat_id=42, at=at)
            # The same chat's other delivery waits for the turn (here: past the timeout).
            with pytest.raises(Exception) as raised:  # noqa: PT011 - checked just below
                async with unit_of_work(second) as other:
                    await turns.claim(other, update_id=2, chat_id=42, at=at)
            assert turns.timed_out(raised.value)
        async with unit_of_work(second) as other:
            # A redelivery is refused; the waiting update goes through once its turn comes.
            assert not await turns.claim(other, update_id=1, chat_id=42, at=at)
            assert await turns.claim(other, update_id=2, chat_id=42, at=at)
    finally:
        await holder.dispose()
        await waiter.dispose()
