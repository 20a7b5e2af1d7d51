"""The nightly backup: a consistent copy of the database at a set hour, old copies pruned."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from pathlib import Path

from bot.config import BackupSettings
from bot.crm import backup
from bot.errors import BackupError
from bot.scheduler import Clock

logger = logging.getLogger(__name__)
# At the configured hour a backup younger than this (one taken by hand, or the one
# taken at start-up) is enough; outside it, one older than a day and an hour is
# overdue (the bot was down at that hour) and is taken at once.
FRESH_ENOUGH = timedelta(hours=12)
OVERDUE = timedelta(hours=25)


def is_due(newest: Path | None, now: datetime, hour_utc: int) -> bool:
    """Return whether a backup should be taken now, given the newest one (None: none yet)."""
    last = backup.taken_at(newest) if newest is not None else None
    if last is None:
        return True
    age = now - last
    return age >= OVERDUE or (now.hour == hour_utc and age >= FRESH_ENOUGH)


async def nightly_backup(url: str, settings: BackupSettings, clock: Clock) -> None:
    """Take a backup into ``settings.dir`` when one is due and keep the newest ``keep``."""
    folder = Path(settings.dir)
    now = clock()
    newest = await asyncio.to_thread(backup.latest, folder)
    if not is_due(newest, now, settings.hour_utc):
        return
    try:
        made = await asyncio.to_thread(backup.take, url, folder / backup.file_name(url, now))
    except BackupError as exc:
        logger.error("nightly backup failed: %s", exc)  # noqa: TRY400 - the message says why
        return
    gone = await asyncio.to_thread(backup.prune, folder, settings.keep)
    logger.info(
        "backup written: %s, %d bytes in %.1f s; %d old backups deleted",
        made.path.name,
        made.size,
        made.seconds,
        len(gone),
    )
