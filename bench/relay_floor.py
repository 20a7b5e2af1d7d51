"""The floor under ``bench.conversations``: a bot that relays and does nothing else.

Customer ``FIRST_CUSTOMER + i``'s message is copied (``copyMessage``) to rep
``FIRST_REP + i``; rep ``FIRST_REP + i``'s text goes to the customer with
``sendMessage``. No database, no routing, no acknowledgement, no buttons: the
framework, HTTP and the emulator alone, handling updates concurrently as the
real bot does. What the real bot takes beyond this floor is its own work.
Run by ``bench.conversations``: ``python -m bench.relay_floor ptb|aiogram API_URL``.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from bench.broadcast import TOKEN

FIRST_REP, FIRST_CUSTOMER = 6_000_000, 7_000_000
POLL_TIMEOUT = 2
READY = "floor bot is running"


def _peer(user_id: int) -> int:
    """Return the other side of a conversation: a customer's rep, or a rep's customer."""
    if user_id >= FIRST_CUSTOMER:
        return user_id - FIRST_CUSTOMER + FIRST_REP
    return user_id - FIRST_REP + FIRST_CUSTOMER


async def run_aiogram(api: str) -> None:
    """Relay with aiogram's dispatcher, each update as its own task."""
    from aiogram import Bot, Dispatcher
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.types import Message

    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(api)))
    dispatcher = Dispatcher()

    @dispatcher.message()
    async def relay(message: Message) -> None:
        sender = message.from_user.id if message.from_user else 0
        if sender >= FIRST_CUSTOMER:
            await bot.copy_message(_peer(sender), message.chat.id, message.message_id)
        else:
            await bot.send_message(_peer(sender), message.text or "")

    async def ready() -> None:
        print(READY, flush=True)

    dispatcher.startup.register(ready)
    await dispatcher.start_polling(bot, polling_timeout=POLL_TIMEOUT)


def run_ptb(api: str) -> None:
    """Relay with python-telegram-bot's Application, updates handled concurrently."""
    from telegram import Update
    from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler, filters

    async def relay(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or message.from_user is None:
            return
        sender = message.from_user.id
        if sender >= FIRST_CUSTOMER:
            await context.bot.copy_message(_peer(sender), message.chat_id, message.message_id)
        else:
            await context.bot.send_message(_peer(sender), message.text or "")

    async def ready(_: Application[Any, Any, Any, Any, Any, Any]) -> None:
        print(READY, flush=True)

    application = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(f"{api}/bot")
        .concurrent_updates(True)
        .connection_pool_size(256)
        .post_init(ready)
        .build()
    )
    application.add_handler(MessageHandler(filters.ALL, relay))
    application.run_polling(poll_interval=0, timeout=POLL_TIMEOUT)


if __name__ == "__main__":
    framework, api_url = sys.argv[1], sys.argv[2]
    if framework == "aiogram":
        asyncio.run(run_aiogram(api_url))
    else:
        run_ptb(api_url)
