"""Framework adapters: run the bot on python-telegram-bot or aiogram behind the Messenger port.

Nothing outside this package imports ``telegram`` or ``aiogram``. Only the
framework a run chooses is imported (``run_bot``), and each adapter's names here
are loaded when first used: importing aiogram alone takes seconds and tens of
megabytes that a bot on python-telegram-bot never needs, and the reverse.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from bot.config import TelegramSettings
from bot.messaging import Messenger, UpdateHandler
from bot.telegram._common import ChatSequencer

if TYPE_CHECKING:
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

# Where each adapter name lives; its module is imported at the first use of the name.
_LAZY = {
    "AiogramMessenger": "bot.telegram.aiogram",
    "AiogramRun": "bot.telegram.aiogram",
    "PtbMessenger": "bot.telegram.ptb",
    "PtbRun": "bot.telegram.ptb",
}


def __getattr__(name: str) -> object:
    """Import an adapter's module at the first use of one of its names."""
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)


async def run_bot(
    settings: TelegramSettings,
    token: str,
    handler: UpdateHandler,
    on_ready: Callable[[Messenger], Awaitable[None]],
    stop: asyncio.Event,
    *,
    answer_after_handling: bool = False,
) -> None:
    """Run the bot on the framework named by ``settings.framework`` until ``stop`` is set.

    ``answer_after_handling``: answer each webhook post once its update is handled.
    """
    if settings.framework == "aiogram":
        from bot.telegram.aiogram import AiogramRun

        await AiogramRun(settings, token, handler, on_ready, stop, answer_after_handling).run()
    else:
        from bot.telegram.ptb import PtbRun

        await PtbRun(settings, token, handler, on_ready, stop, answer_after_handling).run()
