"""Putting a backup back, and the run lock that keeps a restore away from a running bot.

A running bot holds a shared lock on a file beside its SQLite database
(``scrm.db.lock``), released by the kernel when the process ends however it
ends; a restore takes the same lock exclusively, so it refuses while any bot
runs, and a bot starting during a restore refuses to start. On PostgreSQL the
bot's connections carry the application name ``scrm-bot``, and a restore
refuses while any is connected.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO

from sqlalchemy import text

from bot.crm import backup, migrate
from bot.crm.store import APPLICATION_NAME, create_engine
from bot.errors import BackupError

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows: no lock, the operator stops the bot
    fcntl = None  # type: ignore[assignment]

LOCK_SUFFIX = ".lock"
PG_RESTORE_TIMEOUT = 3600.0
_ALEMBIC_ROW = re.compile(r"COPY \S*alembic_version \(version_num\) FROM stdin;\n(\S+)\n")


@dataclass(frozen=True, slots=True)
class Restored:
    """What a restore did: the backup's revision, the code's newest, and the saved old database."""

    revision: str | None
    head: str
    saved: Path | None


def lock_path(database: Path) -> Path:
    """Return the run lock's file beside a SQLite database."""
    return database.with_name(database.name + LOCK_SUFFIX)


@contextlib.contextmanager
def running_on(url: str) -> Iterator[None]:
    """Hold the database's run lock (shared: several bots may run) while the block runs.

    Raises:
        BackupError: when a restore is putting a backup in place right now.
    """
    database = backup.sqlite_file(url)
    if database is None or fcntl is None:
        yield
        return
    with _locked(lock_path(database), fcntl.LOCK_SH) as held:
        if not held:
            msg = f"a backup is being restored into {database}: start the bot when it is done"
            raise BackupError(msg)
        yield


@contextlib.contextmanager
def _locked(path: Path, mode: int) -> Iterator[bool]:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle: IO[bytes] = path.open("a+b")
    try:
        try:
            fcntl.flock(handle.fileno(), mode | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        handle.close()  # closing the file releases the lock


async def restore(url: str, source: Path, *, now: datetime) -> Restored:
    """Put the backup at ``source`` in place of the database at ``url``.

    The database it replaces is first saved beside it (SQLite:
    ``scrm.db.before-restore-<time>``). An older backup is left at its revision:
    ``scrm-bot run`` (or ``migrate``) upgrades it.

    Raises:
        BackupError: when a bot is running on the database, the file is not a
            backup, or the restore itself fails.
        SchemaError: when the backup was written by a newer release.
    """
    if not await asyncio.to_thread(source.is_file):
        msg = f"no backup file at {source}"
        raise BackupError(msg)
    database = backup.sqlite_file(url)
    if database is None:
        revision = await _pg_restore(url, source)
        return Restored(revision, migrate.head_revision(), None)
    revision = await asyncio.to_thread(backup.file_revision, source)
    migrate.check_known(revision, what="The backup")
    saved = await asyncio.to_thread(_sqlite_restore, database, source, now)
    return Restored(revision, migrate.head_revision(), saved)


def _sqlite_restore(database: Path, source: Path, now: datetime) -> Path | None:
    if fcntl is None:  # pragma: no cover - Windows
        held: contextlib.AbstractContextManager[bool] = contextlib.nullcontext(True)
    else:
        held = _locked(lock_path(database), fcntl.LOCK_EX)
    with held as free:
        if not free:
            msg = (
                f"a bot is running on {database}: stop it first (e.g. systemctl stop scrm-bot), "
                "then restore"
            )
            raise BackupError(msg)
        saved = None
        if database.exists():
            saved = database.with_name(f"{database.name}.before-restore-{now:%Y%m%d-%H%M%S}")
            backup.take(f"sqlite:///{database}", saved)
        try:
            with (
                contextlib.closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src,
                contextlib.closing(sqlite3.connect(database, timeout=30)) as dst,
            ):
                # Through SQLite, not a file copy: a WAL file left by the old database
                # cannot be replayed over the restored pages.
                src.backup(dst)
                dst.execute("PRAGMA journal_mode=WAL")
        except sqlite3.Error as exc:
            msg = f"could not restore {source} into {database}: {exc}"
            raise BackupError(msg) from exc
        return saved


async def _pg_restore(url: str, source: Path) -> str | None:
    program = backup.pg_tool("pg_restore")
    revision = await asyncio.to_thread(_pg_dump_revision, program, source)
    migrate.check_known(revision, what="The backup")
    engine = create_engine(url, application_name=f"{APPLICATION_NAME}-restore")
    try:
        async with engine.connect() as conn:
            others = await conn.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND application_name = :name AND pid <> pg_backend_pid()"
                ),
                {"name": APPLICATION_NAME},
            )
    finally:
        await engine.dispose()
    if others:
        msg = (
            f"a bot is connected to this database ({others} connections): stop every "
            "worker first, then restore"
        )
        raise BackupError(msg)
    done = await asyncio.to_thread(
        subprocess.run,
        [program, "--clean", "--if-exists", "--no-owner", "--single-transaction",
         "--dbname", backup.pg_environment(url).get("PGDATABASE", ""), str(source)],
        env=backup.pg_environment(url),
        capture_output=True,
        timeout=PG_RESTORE_TIMEOUT,
        check=False,
    )  # fmt: skip
    if done.returncode != 0:
        msg = f"pg_restore failed: {done.stderr.decode(errors='replace').strip()}"
        raise BackupError(msg)
    return revision


def _pg_dump_revision(program: str, source: Path) -> str | None:
    done = subprocess.run(  # noqa: S603 - fixed program, arguments are ours
        [program, "--data-only", "--table=alembic_version", "--file=-", str(source)],
        capture_output=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        msg = f"{source} is not a pg_dump backup: {done.stderr.decode(errors='replace').strip()}"
        raise BackupError(msg)
    found = _ALEMBIC_ROW.search(done.stdout.decode(errors="replace"))
    return found.group(1) if found else None
