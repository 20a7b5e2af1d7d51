"""Schema migrations: run Alembic's upgrade, read a database's revision, refuse a newer one."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from bot.crm.store import create_engine
from bot.errors import SchemaError

ROOT = Path(__file__).resolve().parents[2]
logger = logging.getLogger(__name__)


def alembic_config(url: str) -> Config:
    """Return an Alembic config pointing at the project's migrations and ``url``."""
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["url"] = url
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Upgrade the database at ``url`` to ``revision``."""
    command.upgrade(alembic_config(url), revision)


async def upgrade_async(url: str, revision: str = "head") -> None:
    """Upgrade without blocking the running event loop (Alembic runs its own)."""
    await asyncio.to_thread(upgrade, url, revision)


def head_revision() -> str:
    """Return the newest revision this code knows."""
    head = ScriptDirectory.from_config(alembic_config("")).get_current_head()
    if head is None:  # pragma: no cover - the project always has migrations
        msg = "no migrations found"
        raise SchemaError(msg)
    return head


def known_revisions() -> frozenset[str]:
    """Return every revision this code knows."""
    script = ScriptDirectory.from_config(alembic_config(""))
    return frozenset(rev.revision for rev in script.walk_revisions())


async def current_revision(url: str) -> str | None:
    """Return the database's revision, or None for a database never migrated."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_revision)
    finally:
        await engine.dispose()


def _revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


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
