"""Telling a run's admins, once per run, that its template failed for some recipients.

Those recipients are skipped with the reason recorded on their rows (the
report counts them); the notice says which template to fix while the run is
still going. "Once" is kept in memory: a restart in the middle of a run may
send it once more.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.campaigns.delivery import run
from bot.campaigns.delivery.render import TEMPLATE_TOO_SLOW
from bot.i18n import N_, translate
from bot.messaging import Messenger

logger = logging.getLogger(__name__)

# Telling admins never holds up claiming for longer than this.
NOTICE_SECONDS = 10.0
TOO_SLOW = N_(
    "⚠️ Campaign “{name}”: the template {template} takes too long to fill in, so the "
    "customers it is for are skipped in this run. Please make it simpler: /template {template}"
)
FAILS = N_(
    "⚠️ Campaign “{name}”: the template {template} can't be filled in for some customers "
    "(for example a number gets too big), so they are skipped. "
    "Please check it: /template {template}"
)


async def tell_once(
    sessions: async_sessionmaker[AsyncSession], messenger: Messenger, state: run.RunState
) -> None:
    """Tell the run's admins about its first template problem, unless they were told already."""
    renderer = state.renderer
    if renderer.problem is None or renderer.told:
        return
    renderer.told = True
    logger.warning("run %d: template problem %s; telling admins", state.run_id, renderer.problem)
    try:
        async with asyncio.timeout(NOTICE_SECONDS):
            async with sessions() as session:
                people = await run.admins_to_tell(session, state.run_id)
            texts = {
                locale: notice(state.campaign_name, renderer.key, renderer.problem, locale)
                for _, locale in people
            }
            await run.tell(messenger, people, texts)
    except TimeoutError:
        logger.warning("run %d: the template notice took too long; not retried", state.run_id)


def notice(campaign_name: str, key: str, problem: str, locale: str) -> str:
    """Return the message telling admins a run's template fails, in ``locale``."""
    message = TOO_SLOW if problem == TEMPLATE_TOO_SLOW else FAILS
    return translate(locale, message, name=campaign_name, template=key)
