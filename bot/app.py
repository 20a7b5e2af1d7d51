"""The composition root: settings → store → dispatcher → scheduler → framework adapter."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.config import Settings
from bot.crm import migrate
from bot.crm.models import utcnow
from bot.crm.store import create_engine, create_sessionmaker
from bot.handlers import ROUTERS
from bot.handlers.context import AppInfo
from bot.handlers.dispatcher import Dispatcher
from bot.handlers.followups import fire_due_reminders, send_digests
from bot.handlers.pipeline import return_stale_leads_job
from bot.i18n import LOCALES
from bot.messaging import CommandScope, Messenger
from bot.scheduler import Scheduler
from bot.telegram import run_bot

logger = logging.getLogger(__name__)
# Telegram scopes command menus by two-letter ISO 639-1 codes.
MENU_LANGUAGES = {"en": None, "zh-CN": "zh"}
# Leads return to the pool after days without follow-up; a few minutes' delay is fine.
STALE_LEADS_EVERY_SECONDS = 600


async def serve(
    settings: Settings,
    *,
    token: str,
    stop: asyncio.Event,
    on_ready: Callable[[Messenger], Awaitable[None]] | None = None,
) -> None:
    """Run the bot until ``stop`` is set: migrate, then handle updates."""
    url = settings.database.url
    await migrate.upgrade_async(url)
    engine = create_engine(url, echo=settings.database.echo)
    sessions = create_sessionmaker(engine)
    dispatcher = Dispatcher(
        sessions,
        AppInfo(
            default_locale=settings.i18n.default_locale,
            conversation_ttl_minutes=settings.bot.conversation_ttl_minutes,
            invite_ttl_hours=settings.bot.invite_ttl_hours,
        ),
        clock=utcnow,
        routers=ROUTERS,
    )
    await dispatcher.prune()
    scheduler = Scheduler(clock=utcnow)

    async def ready(messenger: Messenger) -> None:
        for locale in LOCALES:
            scope = CommandScope(language_code=MENU_LANGUAGES[locale])
            await messenger.set_commands(dispatcher.menus.menu(None, locale), scope)
        tick = settings.scheduler.tick_seconds
        scheduler.every("reminders", tick, lambda: fire_due_reminders(sessions, messenger, utcnow))
        scheduler.every("digests", tick, lambda: send_digests(sessions, messenger, utcnow))
        scheduler.every(
            "stale-leads",
            STALE_LEADS_EVERY_SECONDS,
            lambda: return_stale_leads_job(sessions, messenger, utcnow),
        )
        scheduler.start()
        logger.info(
            "bot @%s is running (%s, %s)",
            messenger.username,
            settings.telegram.framework,
            settings.telegram.mode,
        )
        if on_ready is not None:
            await on_ready(messenger)

    try:
        await run_bot(settings.telegram, token, dispatcher, ready, stop)
    finally:
        scheduler.shutdown()
        await engine.dispose()
