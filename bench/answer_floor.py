"""The floor under ``bench.inbound``: a bot that answers every message "ok" and does nothing else.

No database, no routing, no per-chat order: the framework, HTTP and the emulator
alone, with updates handled concurrently. What the real bot takes beyond this
floor is its own work. Polling, or a webhook on ``127.0.0.1:PORT`` that the
emulator posts to (registered with ``setWebhook`` and a secret, as the bot does).
Run by ``bench.inbound``:
``python -m bench.answer_floor ptb|aiogram API_URL polling|webhook [PORT SECRET]``.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from bench.broadcast import TOKEN

POLL_TIMEOUT = 2
READY = "floor bot is running"
PATH = "/telegram/webhook"
# Updates handled at once by python-telegram-bot, as many as the real bot's adapters
# run (bot.telegram._common.MAX_CONCURRENT_HANDLERS). Its ``concurrent_updates(True)``
# (256, with a pool as large) is slower here: 153 updates/s against 609 for 1,000
# queued /help, as 256 requests at once contend for httpx's connection pool.
CONCURRENCY = 32


async def run_aiogram(api: str, port: int | None, secret: str) -> None:
    """Answer with aiogram's dispatcher, each update as its own task."""
    from aiogram import Bot, Dispatcher
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.types import Message
    from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
    from aiohttp import web

    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(api)))
    dispatcher = Dispatcher()

    @dispatcher.message()
    async def answer(message: Message) -> None:
        await bot.send_message(message.chat.id, "ok")

    if port is None:

        async def ready() -> None:
            print(READY, flush=True)

        dispatcher.startup.register(ready)
        await dispatcher.start_polling(bot, polling_timeout=POLL_TIMEOUT)
        return
    app = web.Application()
    SimpleRequestHandler(dispatcher, bot, secret_token=secret).register(app, path=PATH)
    setup_application(app, dispatcher, bot=bot)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await bot.set_webhook(f"http://127.0.0.1:{port}{PATH}", secret_token=secret)
    print(READY, flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def run_ptb(api: str, port: int | None, secret: str) -> None:
    """Answer with python-telegram-bot's Application, updates handled concurrently."""
    from telegram import Update
    from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler, filters

    async def answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.effective_chat is not None:
            await context.bot.send_message(update.effective_chat.id, "ok")

    async def ready(_: Application[Any, Any, Any, Any, Any, Any]) -> None:
        print(READY, flush=True)

    application = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(f"{api}/bot")
        .concurrent_updates(CONCURRENCY)
        .connection_pool_size(CONCURRENCY)
        .post_init(ready)
        .build()
    )
    application.add_handler(MessageHandler(filters.ALL, answer))
    if port is None:
        application.run_polling(poll_interval=0, timeout=POLL_TIMEOUT)
        return
    application.run_webhook(
        listen="127.0.0.1",
        port=port,
        url_path=PATH.lstrip("/"),
        webhook_url=f"http://127.0.0.1:{port}{PATH}",
        secret_token=secret,
    )


if __name__ == "__main__":
    framework, api_url, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    webhook_port = int(sys.argv[4]) if mode == "webhook" else None
    webhook_secret = sys.argv[5] if mode == "webhook" else ""
    if framework == "aiogram":
        asyncio.run(run_aiogram(api_url, webhook_port, webhook_secret))
    else:
        run_ptb(api_url, webhook_port, webhook_secret)
