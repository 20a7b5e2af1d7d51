"""The nightly value tier job: each shop recomputed once a night, in its own quiet hours.

A workspace is due inside a window of its own local time (``NIGHT_START`` to
``NIGHT_END``) when its tiers are older than ``MIN_AGE``; a manual ``/tiers
recompute`` counts as that night's run. Each runs ``tier_reports.recompute_apart``,
apart from the other shops' updates. When this process last recomputed each
workspace is kept by the caller (``last_runs``): a shop whose recompute wrote no
row (nobody bought) is then not recomputed again every tick of the same night.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, MutableMapping
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crm import tier_reports, workspaces
from bot.crm.store import engine_of

logger = logging.getLogger(__name__)

NIGHT_START = time(3, 0)
NIGHT_END = time(9, 0)
MIN_AGE = timedelta(hours=20)


def is_due(now: datetime, *, tz: ZoneInfo, last: datetime | None) -> bool:
    """Return whether a workspace in zone ``tz``, last computed at ``last``, is due tonight."""
    local = now.astimezone(tz).time()
    if not NIGHT_START <= local < NIGHT_END:
        return False
    return last is None or now - last >= MIN_AGE


async def nightly_tiers(
    sessions: async_sessionmaker[AsyncSession],
    clock: Callable[[], datetime],
    *,
    last_runs: MutableMapping[int, datetime],
) -> None:
    """Recompute the tiers of every workspace that is due (the scheduler's job)."""
    await recompute_due(sessions, clock, last_runs=last_runs)


async def recompute_due(
    sessions: async_sessionmaker[AsyncSession],
    clock: Callable[[], datetime],
    *,
    last_runs: MutableMapping[int, datetime],
) -> list[int]:
    """Recompute the tiers of every workspace that is due; return their ids.

    ``last_runs`` remembers when this process recomputed each workspace. Each
    workspace is recomputed in its own transaction, so one failing does not hold
    back the others (it is logged and tried again on a later tick).
    """
    now = clock()
    async with sessions() as session:
        candidates = []
        for workspace_id, tz in await workspaces.zones(session):
            if not is_due(now, tz=tz, last=last_runs.get(workspace_id)):
                continue
            last = await tier_reports.last_computed(session, workspace_id)
            if is_due(now, tz=tz, last=last):
                candidates.append(workspace_id)
    done = []
    for workspace_id in candidates:
        try:
            summary = await tier_reports.recompute_apart(
                engine_of(sessions), workspace_id, now=now
            )
        except Exception:
            logger.exception("value tiers of workspace %s not recomputed", workspace_id)
            continue
        last_runs[workspace_id] = now
        done.append(workspace_id)
        logger.info(
            "value tiers of workspace %s recomputed: %d buyers in %.1f s",
            workspace_id,
            summary.buyers,
            summary.seconds,
        )
    return done
