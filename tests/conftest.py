"""Shared fixtures: a migrated database per test, on SQLite and (when reachable) PostgreSQL.

Migrations run once per session into a template (a SQLite file, a PostgreSQL
template database); each test gets a copy of it, which takes a millisecond on
SQLite instead of a full ``alembic upgrade``. On PostgreSQL, where creating and
dropping a database costs about a second, the session makes one copy and empties
it before each test instead (every table truncated, every sequence restarted,
other connections ended; a copy whose schema a test changed is made again). Only
``empty_db_url`` gives an unmigrated database, for the tests of the migrations
themselves.
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
# pytest-xdist runs the suite in worker processes, "gw0", "gw1", ...: each has its own
# session (templates, emulator, temporary directories); database names carry the worker.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
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
    name = f"scrm_tmpl_{WORKER}_{secrets.token_hex(4)}"

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


# Empties this session's copy: what the migrations made stays, what a test wrote goes.
_PG_RESET = """
DO $$
DECLARE
    tables text;
    seq record;
BEGIN
    SELECT string_agg(format('%I.%I', schemaname, tablename), ', ') INTO tables
    FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version';
    IF tables IS NOT NULL THEN
        EXECUTE 'TRUNCATE ' || tables || ' RESTART IDENTITY CASCADE';
    END IF;
    FOR seq IN SELECT schemaname, sequencename FROM pg_sequences WHERE schemaname = 'public'
    LOOP
        EXECUTE format('ALTER SEQUENCE %I.%I RESTART', seq.schemaname, seq.sequencename);
    END LOOP;
END $$;
"""
# The schema's shape: a test that changed it gets the database made again for the next.
_PG_SHAPE = """
SELECT count(*), coalesce(sum(hashtext(c.relname || ':' || c.relkind::text)), 0)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
"""


class _PgCopy:
    """This session's copy of the PostgreSQL template, emptied before each test."""

    def __init__(self, template: str) -> None:
        self.template = template
        self.name = f"scrm_test_{WORKER}_{secrets.token_hex(4)}"
        self.created = False
        self.shape: tuple[int, int] | None = None

    async def _create(self, admin: asyncpg.Connection) -> None:
        await admin.execute(f'CREATE DATABASE "{self.name}" TEMPLATE "{self.template}"')

    async def drop(self) -> None:
        admin = await _pg_admin()
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        finally:
            await admin.close()

    async def fresh(self) -> str:
        """Return the URL of the copy, as the template left it."""
        for _ in range(2):
            if not self.created:
                admin = await _pg_admin()
                try:
                    await self._create(admin)
                finally:
                    await admin.close()
                self.created, self.shape = True, None
            dsn = _pg_url(self.name).replace("+asyncpg", "", 1)
            conn = await asyncpg.connect(dsn, timeout=10)
            try:
                await conn.execute(
                    "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
                row = await conn.fetchrow(_PG_SHAPE)
                assert row is not None
                shape = (int(row[0]), int(row[1]))
                if self.shape in (None, shape):
                    self.shape = shape
                    await conn.execute(_PG_RESET)
                    return _pg_url(self.name)
            finally:
                await conn.close()
            await self.drop()  # a test changed the schema: make the copy again
            self.created = False
        raise AssertionError(f"could not make a clean copy of {self.template}")


@pytest.fixture(scope="session")
def pg_copy(pg_template: str) -> Iterator[_PgCopy]:
    """Return this session's copy of the PostgreSQL template; it is dropped at the end."""
    copy = _PgCopy(pg_template)
    try:
        yield copy
    finally:
        run_apart(lambda: asyncio.run(copy.drop()))


async def _pg_database(template: str | None) -> AsyncIterator[str]:
    admin = await _pg_admin()
    name = f"scrm_test_{WORKER}_{secrets.token_hex(4)}"
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
    """Return the URL of a database migrated to head: SQLite, then PostgreSQL when reachable.

    Nothing a previous test wrote is in it: a copy of the SQLite template per test,
    the session's PostgreSQL copy emptied (see above).
    """
    if request.param == "sqlite":
        path = tmp_path / "unit.db"
        shutil.copyfile(sqlite_template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    copy: _PgCopy = request.getfixturevalue("pg_copy")
    yield await copy.fresh()


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
