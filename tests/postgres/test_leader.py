"""Leader election on PostgreSQL: of two workers on one database, exactly one leads."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.campaigns.leader import AdvisoryLeadership, leadership_for
from bot.crm.store import create_engine
from bot.scheduler import SoleLeader

pytestmark = pytest.mark.postgres


@pytest.fixture
async def pg_engines(db_url: str) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    """Return two engines (two workers) on one PostgreSQL database."""
    if not db_url.startswith("postgresql"):
        pytest.skip("advisory locks need PostgreSQL; SQLite runs a single leader")
    first, second = create_engine(db_url), create_engine(db_url)
    yield first, second
    await first.dispose()
    await second.dispose()


async def test_only_one_of_two_workers_leads_and_the_other_takes_over(
    pg_engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    first_engine, second_engine = pg_engines
    first, second = AdvisoryLeadership(first_engine), AdvisoryLeadership(second_engine)
    assert await first.is_leader()
    assert not await second.is_leader()
    # Asking again changes nothing: the leader keeps the lock, the other keeps waiting.
    assert await first.is_leader()
    assert not await second.is_leader()
    await first.release()
    assert await second.is_leader()
    assert not await first.is_leader()
    await second.release()
    await first.release()


async def test_a_leader_whose_connection_dies_loses_the_lock(
    pg_engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    first_engine, second_engine = pg_engines
    first, second = AdvisoryLeadership(first_engine), AdvisoryLeadership(second_engine)
    assert await first.is_leader()
    # A crashed worker's connection goes away; PostgreSQL frees its session locks.
    assert first._conn is not None
    pid = await first._conn.scalar(text("SELECT pg_backend_pid()"))
    async with second_engine.connect() as admin:
        # With a timeout, PostgreSQL (14+) returns only once the backend has exited.
        await admin.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
    assert await second.is_leader()
    assert not await first.is_leader()
    await second.release()
    await first.release()


def test_sqlite_has_a_sole_leader() -> None:
    engine = create_engine("sqlite+aiosqlite:///:memory:")
    assert isinstance(leadership_for(engine), SoleLeader)
