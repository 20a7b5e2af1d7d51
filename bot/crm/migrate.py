"""Schema migrations: run Alembic's upgrade, read a database's revision, refuse a newer one.

A start with an up-to-date database (nearly every start) only reads the
``alembic_version`` row and the revision lines of the files in
``migrations/versions``; Alembic, and the migration modules it loads, are
imported only when an upgrade has to run. Alembic takes most of a second to
import and load the scripts, which every restart used to pay.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import Connection

from bot.crm.store import create_engine
from bot.errors import SchemaError

if TYPE_CHECKING:
    from alembic.config import Config

ROOT = Path(__file__).resolve().parents[2]
VERSIONS = ROOT / "migrations" / "versions"
# Alembic's default version table (migrations/env.py does not rename it).
VERSION_TABLE = "alembic_version"
logger = logging.getLogger(__name__)
# The revision lines Alembic writes at the top of every script (see script.py.mako).
_REVISION = re.compile(r"^revision\b[^=]*=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)
_DOWN_REVISION = re.compile(r"^down_revision\b[^=]*=(.*)$", re.MULTILINE)
_QUOTED = re.compile(r"['\"]([^'\"]+)['\"]")
_SELECT_VERSION = text(f"SELECT version_num FROM {VERSION_TABLE}")  # noqa: S608 - a constant


def alembic_config(url: str) -> Config:
    """Return an Alembic config pointing at the project's migrations and ``url``."""
    from alembic.config import Config

    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["url"] = url
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Upgrade the database at ``url`` to ``revision``."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


async def upgrade_async(url: str, revision: str = "head") -> None:
    """Upgrade without blocking the running event loop (Alembic runs its own)."""
    await asyncio.to_thread(upgrade, url, revision)


def head_revision() -> str:
    """Return the newest revision this code knows."""
    graph = _revisions()
    below = {down for downs in graph.values() for down in downs}
    heads = sorted(set(graph) - below)
    if len(heads) != 1:  # pragma: no cover - the project keeps one line of migrations
        msg = f"expected one newest migration, found {heads or 'none'}"
        raise SchemaError(msg)
    return heads[0]


def known_revisions() -> frozenset[str]:
    """Return every revision this code knows."""
    return frozenset(_revisions())


@cache
def _revisions() -> dict[str, tuple[str, ...]]:
    """Map each script's revision to the revisions it follows, read from the files' text."""
    graph: dict[str, tuple[str, ...]] = {}
    for script in VERSIONS.glob("*.py"):
        source = script.read_text(encoding="utf-8")
        revision = _REVISION.search(source)
        down = _DOWN_REVISION.search(source)
        if revision is None or down is None:
            continue
        graph[revision.group(1)] = tuple(_QUOTED.findall(down.group(1)))
    return graph


async def current_revision(url: str) -> str | None:
    """Return the database's revision, or None for a database never migrated."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_revision)
    finally:
        await engine.dispose()


def _revision(connection: Connection) -> str | None:
    if not connection.dialect.has_table(connection, VERSION_TABLE):
        return None
    rows = connection.execute(_SELECT_VERSION).all()
    if len(rows) > 1:
        msg = f"the database is at several schema revisions at once: {sorted(r[0] for r in rows)}"
        raise SchemaError(msg)
    return str(rows[0][0]) if rows else None


def check_known(revision: str | None, *, what: str = "The database") -> None:
    """Refuse a revision this code does not know: it was written by a newer version.

    Raises:
        SchemaError: naming both revisions and what to do.
    """
    if revision is not None and revision not in known_revisions():
        msg = (
            f"{what} is at schema revision {revision}, newer than this version of scrm-bot "
            f"knows (its newest is {head_revision()}): it was written by a newer release. "
            "Run that release (or newer), or restore a backup taken before the upgrade."
        )
        raise SchemaError(msg)


@dataclass(frozen=True, slots=True)
class Upgrade:
    """What ``upgrade_checked`` did: the revision before and after (equal when up to date)."""

    before: str | None
    after: str

    @property
    def changed(self) -> bool:
        """Return True when migrations ran."""
        return self.before != self.after


async def upgrade_checked(url: str) -> Upgrade:
    """Upgrade an older database to the newest revision and say so; refuse a newer one.

    Raises:
        SchemaError: when the database was written by a newer release.
    """
    before = await current_revision(url)
    check_known(before)
    head = head_revision()
    if before != head:
        await upgrade_async(url)
        logger.info("database upgraded from revision %s to %s", before or "(empty)", head)
    return Upgrade(before, head)
