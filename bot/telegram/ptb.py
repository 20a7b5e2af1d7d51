"""The python-telegram-bot adapter: its Messenger's calls and its run (see ``_adapter``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import aiohttp
import telegram
from telegram.ext import Application, ContextTypes, TypeHandler, Updater

from bot.messaging import BotCommand, CommandScope, Messenger
from bot.telegram._adapter import AdapterMessenger, AdapterRun, BotApi
from bot.telegram._common import ALLOWED_UPDATES
from bot.telegram._lean import LeanSender
from bot.telegram._ptb_convert import (
    FRAMEWORK,
    UpdatesRequest,
    read_update,
    to_incoming,
)

__all__ = ["PtbMessenger", "PtbRun", "to_incoming"]

# Seconds a broadcast request may take before it counts as a network error (retried later).
_BROADCAST_TIMEOUT = 30.0
# Seconds a reply's sendMessage may take; most of the 15 s a SIGTERM allows is left over.
_REPLY_TIMEOUT = 10.0
# Keep-alive connections for replies: enough for every chat the sequencer runs at once.
_REPLY_CONNECTIONS = 64


class PtbMessenger(AdapterMessenger):
    """Send messages through an initialized ``telegram.Bot``."""

    framework = FRAMEWORK

    def __init__(self, bot: telegram.Bot, username: str) -> None:
        url = f"{bot.base_url}/sendMessage"
        super().__init__(bot, username, url, _BROADCAST_TIMEOUT)
        self._bot = bot
        # Texts skip PTB's models and httpx: a JSON POST over aiohttp (see _lean); PTB's
        # send_message parses every returned Message whole, about 1.8 ms a reply.
        self._http: aiohttp.ClientSession | None = None
        self._lean = LeanSender(self._client, url, _REPLY_TIMEOUT)

    async def _client(self) -> aiohttp.ClientSession:
        # Made on first use, on the running loop; closed with the run.
        if self._http is None or self._http.closed:
            connector = aiohttp.TCPConnector(limit=_REPLY_CONNECTIONS)
            self._http = aiohttp.ClientSession(connector=connector)
        return self._http

    async def aclose(self) -> None:
        """Close the replies' connections."""
        if self._http is not None:
            await self._http.close()

    async def _download(self, file_id: str) -> bytes:
        file = await self._bot.get_file(file_id)
        return bytes(await file.download_as_bytearray())

    async def _set_commands(self, commands: Sequence[BotCommand], scope: CommandScope) -> None:
        tg_scope: telegram.BotCommandScope = (
            telegram.BotCommandScopeDefault()
            if scope.chat_id is None
            else telegram.BotCommandScopeChat(scope.chat_id)
        )
        await self._bot.set_my_commands(
            [telegram.BotCommand(c.command, c.description) for c in commands],
            scope=tg_scope,
            language_code=scope.language_code,
        )


class PtbRun(AdapterRun):
    """A run on python-telegram-bot: its Application polls, or takes our webhook's updates.

    PTB handles updates one at a time (concurrent_updates stays off); its one handler
    passes each to ``accept``.
    """

    framework = FRAMEWORK

    def __post_init__(self) -> None:
        self._messenger: PtbMessenger | None = None
        # The polling request keeps each update's JSON in ``raw`` (see _convert).
        self._application = (
            Application.builder()
            .token(self.token)
            .base_url(f"{self.settings.api_base_url}/bot")
            .base_file_url(f"{self.settings.api_base_url}/file/bot")
            .get_updates_request(UpdatesRequest(self.raw))
            .job_queue(None)
            .build()
        )

    async def _open(self) -> Messenger:
        application = self._application
        await application.initialize()

        async def on_update(update: object, _: ContextTypes.DEFAULT_TYPE) -> None:
            if isinstance(update, telegram.Update):
                self.accept(update.update_id, update.to_dict)

        application.add_handler(TypeHandler(telegram.Update, on_update))
        await application.start()
        self._messenger = PtbMessenger(application.bot, application.bot.username)
        return self._messenger

    async def _start_polling(self) -> None:
        await self._updater().start_polling(
            timeout=dt.timedelta(seconds=self.settings.poll_timeout),
            allowed_updates=list(ALLOWED_UPDATES),
            drop_pending_updates=False,
        )

    def _api(self) -> BotApi:
        return self._application.bot

    def _read_update(self, data: dict[str, Any]) -> object:
        return read_update(data, self._application.bot)

    async def _enqueue(self, update: object) -> None:
        await self._application.update_queue.put(update)

    async def _stop_receiving(self) -> None:
        updater = self._updater()
        if updater.running:
            await updater.stop()
        if self._application.running:
            await self._application.stop()

    async def _close(self) -> None:
        if self._messenger is not None:
            await self._messenger.aclose()
        await self._application.shutdown()

    def _updater(self) -> Updater:
        updater = self._application.updater
        if updater is None:  # pragma: no cover - the builder always creates one
            msg = "python-telegram-bot built an Application without an Updater"
            raise RuntimeError(msg)
        return updater
