"""Backups and restores of SQLite files: consistent under writes, pruned, refused when unsafe."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.crm import backup, migrate, restore, workspaces
from bot.crm.store import create_engine, create_sessionmaker, unit_of_work
from bot.errors import BackupError, SchemaError
from bot.jobs.backups import is_due
from tests.conftest import _pg_database

NOW = datetime(2026, 12, 4, 3, 0, tzinfo=UTC)


def make_db(path: Path) -> str:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE alembic_version (version_num TEXT)")
        conn.execute("INSERT INTO alembic_version VALUES (?)", (migrate.head_revision(),))
        conn.execute("CREATE TABLE pair (a INTEGER, b INTEGER)")
        conn.commit()
    return f"sqlite+aiosqlite:///{path}"


def test_a_backup_under_constant_writes_is_one_consistent_moment(tmp_path: Path) -> None:
    url = make_db(tmp_path / "live.db")
    stop = threading.Event()

    def writer() -> None:
        # Each transaction writes two rows: a consistent copy never holds an odd count.
        with contextlib.closing(sqlite3.connect(tmp_path / "live.db", timeout=30)) as conn:
            n = 0
            while not stop.is_set():
                conn.executemany("INSERT INTO pair VALUES (?, ?)", [(n, 0), (n, 1)])
                conn.commit()
                n += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        made = [backup.take(url, tmp_path / f"copy{i}.db") for i in range(5)]
    finally:
        stop.set()
        thread.join()
    for copy in made:
        assert copy.revision == migrate.head_revision()
        with contextlib.closing(sqlite3.connect(copy.path)) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
            assert conn.execute("SELECT count(*) % 2 FROM pair").fetchone() == (0,)
        assert not copy.path.with_name(copy.path.name + ".part").exists()


def test_prune_keeps_the_newest_and_leaves_other_files(tmp_path: Path) -> None:
    names = [f"scrm-2026120{d}-030000.db" for d in range(1, 10)]
    for name in [*names, "notes.txt", "scrm-latest.db"]:
        (tmp_path / name).write_bytes(b"x")
    gone = backup.prune(tmp_path, keep=7)
    assert [p.name for p in gone] == names[:2]
    assert backup.latest(tmp_path) == tmp_path / names[-1]
    assert (tmp_path / "notes.txt").exists() and (tmp_path / "scrm-latest.db").exists()


@pytest.mark.parametrize(
    ("newest", "now", "due"),
    [
        (None, NOW, True),  # the first backup, at once
        ("scrm-20261203-030000.db", NOW, True),  # the nightly hour
        ("scrm-20261203-230000.db", NOW, False),  # one taken by hand four hours ago
        ("scrm-20261203-030000.db", NOW + timedelta(hours=2), True),  # the hour was missed
        ("scrm-20261204-030000.db", NOW + timedelta(hours=2), False),
    ],
)
def test_when_the_nightly_backup_is_due(newest: str | None, now: datetime, due: bool) -> None:
    path = Path(newest) if newest else None
    assert is_due(path, now, hour_utc=3) is due


async def test_restore_refuses_while_a_bot_runs_and_then_restores(tmp_path: Path) -> None:
    url = make_db(tmp_path / "scrm.db")
    copy = backup.take(url, tmp_path / "copy.db")
    with restore.running_on(url), pytest.raises(BackupError, match="a bot is running on"):
        await restore.restore(url, copy.path, now=NOW)
    done = await restore.restore(url, copy.path, now=NOW)
    assert done.revision == done.head == migrate.head_revision()
    assert done.saved == tmp_path / "scrm.db.before-restore-20261204-030000"
    assert done.saved.exists()


async def test_restore_refuses_a_newer_schema_and_a_file_that_is_no_backup(
    tmp_path: Path,
) -> None:
    url = make_db(tmp_path / "scrm.db")
    newer = backup.take(url, tmp_path / "newer.db").path
    with contextlib.closing(sqlite3.connect(newer)) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
        conn.commit()
    with pytest.raises(SchemaError, match="revision 9999, newer than this version"):
        await restore.restore(url, newer, now=NOW)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database" * 100)
    with pytest.raises(BackupError, match="not a readable SQLite database"):
        await restore.restore(url, junk, now=NOW)


def test_a_bot_cannot_start_while_a_restore_holds_the_lock(tmp_path: Path) -> None:
    url = make_db(tmp_path / "scrm.db")
    with (
        restore._locked(restore.lock_path(tmp_path / "scrm.db"), restore.fcntl.LOCK_EX),
        pytest.raises(BackupError, match="being restored"),
        restore.running_on(url),
    ):
        pass


def test_postgres_without_pg_dump_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", "")
    with pytest.raises(BackupError, match="pg_dump is not installed.*postgresql-client"):
        backup.take("postgresql+asyncpg://scrm@127.0.0.1/scrm", tmp_path / "never" / "x.dump")
    assert not (tmp_path / "never").exists()


@pytest.mark.postgres
async def test_postgres_round_trip_through_pg_dump_and_pg_restore(
    tmp_path: Path, pg_template: str
) -> None:
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.skip("the PostgreSQL client tools (pg_dump, pg_restore) are not installed")
    async for url in _pg_database(pg_template):
        engine = create_engine(url)
        async with unit_of_work(create_sessionmaker(engine)) as session:
            await workspaces.create_workspace(
                session, name="Before", timezone="Asia/Shanghai", locale="en", region="CN"
            )
        made = await asyncio.to_thread(backup.take, url, tmp_path / "shop.dump")
        assert made.size > 0
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE workspace SET name = 'After'"))
        # A connection of the bot (by its application name) makes restore refuse.
        async with engine.connect() as conn:
            await conn.execute(text("SET application_name = 'scrm-bot'"))
            with pytest.raises(BackupError, match="a bot is connected"):
                await restore.restore(url, made.path, now=NOW)
        await engine.dispose()
        done = await restore.restore(url, made.path, now=NOW)
        assert done.revision == migrate.head_revision()
        engine = create_engine(url)
        async with engine.connect() as conn:
            names = (await conn.execute(text("SELECT name FROM workspace"))).scalars().all()
        await engine.dispose()
        assert names == ["Before"]
