"""Migrations and models agree, and the SQLite store is set up as promised."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection

from bot.crm import migrate
from bot.crm.models import Base
from bot.crm.store import create_engine


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_upgrade_head_matches_models(empty_db_url: str) -> None:
    url = empty_db_url
    await migrate.upgrade_async(url)
    engine = create_engine(url)
    async with engine.connect() as conn:
        diff = await conn.run_sync(_diff)
    await engine.dispose()
    assert diff == []


async def test_downgrade_to_base_and_up_again(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    await migrate.upgrade_async(url)
    await migrate.upgrade_async(url)  # idempotent
    await asyncio.to_thread(command.downgrade, migrate.alembic_config(url), "base")
    engine = create_engine(url)
    async with engine.connect() as conn:
        tables = await conn.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))
        assert {row[0] for row in tables} <= {"alembic_version"}
    await engine.dispose()
    await migrate.upgrade_async(url)


async def test_sqlite_runs_wal_with_foreign_keys(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'p.db'}")
    async with engine.connect() as conn:
        assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
        assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar() == 5000
    await engine.dispose()
