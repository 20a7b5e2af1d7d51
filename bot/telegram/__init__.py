"""Framework adapters: run the bot on python-telegram-bot or aiogram behind the Messenger port.

Nothing outside this package imports ``telegram`` or ``aiogram``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from bot.config import TelegramSettings
from bot.messaging import Messenger, UpdateHandler
from bot.telegram._common import ChatSequencer
from bot.telegram.aiogram import AiogramMessenger, AiogramRun
from bot.telegram.ptb import PtbMessenger, PtbRun

__all__ = [
    "AiogramMessenger",
    "AiogramRun",
    "ChatSequencer",
    "PtbMessenger",
    "PtbRun",
    "run_bot",
]


async def run_bot(
    settings: TelegramSettings,
    token: str,
    handler: UpdateHandler,
    on_ready: Callable[[Messenger], Awaitable[None]],
    stop: asyncio.Event,
) -> None:
    """Run the bot on the framework named by ``settings.framework`` until ``stop`` is set."""
    run = AiogramRun if settings.framework == "aiogram" else PtbRun
    await run(settings, token, handler, on_ready, stop).run()
