"""Shared fixtures: a migrated database per test, on SQLite and (when reachable) PostgreSQL.

Migrations run once per session into a template (a SQLite file, a PostgreSQL
template database); each test gets a copy of it, which takes a millisecond on
SQLite instead of a full ``alembic upgrade``. Only ``empty_db_url`` gives an
unmigrated database, for the tests of the migrations themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crm import migrate
from bot.crm.store import create_engine, create_sessionmaker

PG_ADMIN_DSN = os.environ.get(
    "SCRM_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test"
)
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
T = TypeVar("T")


def _pg_url(name: str) -> str:
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{name}"


async def _pg_admin() -> asyncpg.Connection:
    try:
        return await asyncpg.connect(PG_ADMIN_DSN, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_DSN} ({exc.__class__.__name__})")


def run_apart(work: Callable[[], T]) -> T:
    """Run ``work`` in another thread and return its result.

    Session fixtures are synchronous; Alembic and these helpers run event loops of
    their own, which in this thread would replace the one pytest-asyncio gives each test.
    """
    result: list[T] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            result.append(work())
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return result[0]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a SQLite file migrated to head, built once per session."""
    path = tmp_path_factory.mktemp("template") / "migrated.db"
    run_apart(lambda: migrate.upgrade(f"sqlite+aiosqlite:///{path}"))
    # The file runs in WAL mode: fold the log into the file so a plain copy is complete.
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """Return the name of a PostgreSQL database migrated to head, built once per session."""
    name = f"scrm_tmpl_{secrets.token_hex(4)}"

    async def create() -> None:
        admin = await _pg_admin()
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()

    async def drop() -> None:
        admin = await _pg_admin()
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()

    run_apart(lambda: asyncio.run(create()))
    try:
        run_apart(lambda: migrate.upgrade(_pg_url(name)))
        yield name
    finally:
        run_apart(lambda: asyncio.run(drop()))


async def _pg_database(template: str | None) -> AsyncIterator[str]:
    admin = await _pg_admin()
    name = f"scrm_test_{secrets.token_hex(4)}"
    clause = f' TEMPLATE "{template}"' if template else ""
    await admin.execute(f'CREATE DATABASE "{name}"{clause}')
    try:
        yield _pg_url(name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture(params=BACKENDS)
async def db_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> AsyncIterator[str]:
    """Return the URL of a database migrated to head: SQLite, then PostgreSQL when reachable."""
    if request.param == "sqlite":
        path = tmp_path / "unit.db"
        shutil.copyfile(sqlite_template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    template = request.getfixturevalue("pg_template")
    async for url in _pg_database(template):
        yield url


@pytest.fixture(params=BACKENDS)
async def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """Return the URL of an empty database, for tests of the migrations themselves."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    async for url in _pg_database(None):
        yield url


@pytest.fixture
async def sessions(db_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Return a session factory on a freshly migrated database (a copy of the template)."""
    engine = create_engine(db_url)
    yield create_sessionmaker(engine)
    await engine.dispose()
