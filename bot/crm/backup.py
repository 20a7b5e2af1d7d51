"""Backups: a consistent copy of the database taken while the bot runs, named, listed and pruned.

SQLite is copied with its online backup API: one read transaction sees a single
moment of the database, and in WAL mode the bot keeps writing meanwhile. The
copy is written beside the target and renamed into place only once it passed
``PRAGMA quick_check``, so a file with the backup name is always whole.
PostgreSQL is dumped with ``pg_dump`` (custom format, for ``pg_restore``).

Everything here blocks (file copies, a child process): callers on the event loop
run it with ``asyncio.to_thread``.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.errors import BackupError

PREFIX = "scrm-"
SQLITE_SUFFIX = ".db"
POSTGRES_SUFFIX = ".dump"
_NAME = re.compile(r"^scrm-\d{8}-\d{6}\.(db|dump)$")
PG_DUMP_TIMEOUT = 3600.0


@dataclass(frozen=True, slots=True)
class Backup:
    """A backup written: where, how big, at which schema revision, how long it took."""

    path: Path
    size: int
    revision: str | None
    seconds: float


def sqlite_file(url: str) -> Path | None:
    """Return the SQLite database file of ``url``, or None for PostgreSQL."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite"):
        return None
    if not parsed.database or parsed.database == ":memory:":
        msg = "an in-memory SQLite database cannot be backed up"
        raise BackupError(msg)
    return Path(parsed.database)


def file_name(url: str, now: datetime) -> str:
    """Return the name of a backup of ``url`` taken at ``now`` (UTC): scrm-20261204-030000.db."""
    suffix = SQLITE_SUFFIX if sqlite_file(url) is not None else POSTGRES_SUFFIX
    return f"{PREFIX}{now:%Y%m%d-%H%M%S}{suffix}"


def taken_at(path: Path) -> datetime | None:
    """Return when a backup was taken (UTC), read from its name; None for another name."""
    stem = path.name.split(".", 1)[0].removeprefix(PREFIX)
    try:
        return datetime.strptime(stem, "%Y%m%d-%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return None


def take(url: str, dest: Path) -> Backup:
    """Write a consistent backup of the database at ``url`` to ``dest``.

    Raises:
        BackupError: when the database cannot be read, the copy is damaged, or
            (PostgreSQL) ``pg_dump`` is missing or fails.
    """
    began = time.monotonic()
    source = sqlite_file(url)
    if source is None:
        pg_tool("pg_dump")  # say what to install before anything is created
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    try:
        revision = _pg_dump(url, part) if source is None else _sqlite_copy(source, part)
        os.replace(part, dest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            part.unlink()
    return Backup(dest, dest.stat().st_size, revision, time.monotonic() - began)


def _sqlite_copy(source: Path, part: Path) -> str | None:
    if not source.exists():
        msg = f"no database file at {source}"
        raise BackupError(msg)
    with contextlib.suppress(FileNotFoundError):
        part.unlink()
    try:
        with (
            contextlib.closing(sqlite3.connect(source, timeout=30)) as src,
            contextlib.closing(sqlite3.connect(part)) as dst,
        ):
            # One step: the whole copy is one read transaction, so it is one moment of the
            # database; WAL lets the bot write beside it.
            src.backup(dst)
            # A backup is one self-contained file, not a WAL database with side files.
            dst.execute("PRAGMA journal_mode=DELETE")
            return _checked_revision(dst, f"the copy of {source}")
    except sqlite3.Error as exc:
        msg = f"could not copy {source}: {exc}"
        raise BackupError(msg) from exc


def _checked_revision(conn: sqlite3.Connection, what: str) -> str | None:
    """Return the schema revision of a SQLite database that passes its integrity check.

    Raises:
        BackupError: when it fails the check (``what`` names the database).
    """
    check = conn.execute("PRAGMA quick_check").fetchone()
    if check is None or check[0] != "ok":
        msg = f"{what} failed its integrity check: {check}"
        raise BackupError(msg)
    return _sqlite_revision(conn)


def _sqlite_revision(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:
        return None  # never migrated
    return str(row[0]) if row else None


def file_revision(path: Path) -> str | None:
    """Return the schema revision recorded in a SQLite backup file.

    Raises:
        BackupError: when the file is not a SQLite database or fails its integrity check.
    """
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            return _checked_revision(conn, str(path))
    except sqlite3.Error as exc:
        msg = f"{path} is not a readable SQLite database: {exc}"
        raise BackupError(msg) from exc


def pg_environment(url: str) -> dict[str, str]:
    """Return libpq variables for ``url``: the password goes in the environment, not argv."""
    parsed = make_url(url)
    env = dict(os.environ)
    for key, value in (
        ("PGHOST", parsed.host),
        ("PGPORT", parsed.port),
        ("PGUSER", parsed.username),
        ("PGPASSWORD", parsed.password),
        ("PGDATABASE", parsed.database),
    ):
        if value is not None:
            env[key] = str(value)
    return env


def pg_tool(name: str) -> str:
    """Return the path of a PostgreSQL client program.

    Raises:
        BackupError: when it is not installed, saying how to install it.
    """
    found = shutil.which(name)
    if found is None:
        msg = (
            f"{name} is not installed, and PostgreSQL backups need it: install the "
            "PostgreSQL client tools of your server's version (Debian/Ubuntu: "
            "apt install postgresql-client), or back up with your own PostgreSQL tooling."
        )
        raise BackupError(msg)
    return found


def _pg_dump(url: str, part: Path) -> str | None:
    program = pg_tool("pg_dump")
    try:
        done = subprocess.run(  # noqa: S603 - fixed program, arguments are ours
            [program, "--format=custom", "--no-owner", f"--file={part}"],
            env=pg_environment(url),
            capture_output=True,
            timeout=PG_DUMP_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        msg = f"pg_dump did not finish within {PG_DUMP_TIMEOUT:.0f} s"
        raise BackupError(msg) from exc
    if done.returncode != 0:
        msg = f"pg_dump failed: {done.stderr.decode(errors='replace').strip()}"
        raise BackupError(msg)
    return None


def listed(folder: Path) -> list[Path]:
    """Return the backups in ``folder``, oldest first (only files named like ours)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if _NAME.match(p.name) and p.is_file())


def latest(folder: Path) -> Path | None:
    """Return the newest backup in ``folder``, or None."""
    found = listed(folder)
    return found[-1] if found else None


def prune(folder: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` backups in ``folder``; return what was deleted."""
    found = listed(folder)
    doomed = found[:-keep] if keep > 0 else found
    for path in doomed:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    return doomed
