"""The aiogram 3 adapter: its Messenger's calls and its run (see ``_adapter``)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

# isort: off
# First, before aiogram: its models are imported with their schemas built on first use.
from bot.telegram import _aiogram_models  # noqa: F401
# isort: on

from aiogram import Bot, Dispatcher, types
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode

from bot.errors import BadRequest, TransientError
from bot.messaging import BotCommand, CommandScope, Messenger
from bot.telegram._adapter import AdapterMessenger, AdapterRun, BotApi
from bot.telegram._aiogram_convert import (
    FRAMEWORK,
    read_update,
    to_incoming,
    translated,
)
from bot.telegram._common import ALLOWED_UPDATES
from bot.telegram._lean import LeanSender

__all__ = ["AiogramMessenger", "AiogramRun", "to_incoming"]

logger = logging.getLogger(__name__)


class AiogramMessenger(AdapterMessenger):
    """Send messages through an aiogram ``Bot``."""

    framework = FRAMEWORK

    def __init__(self, bot: Bot, username: str) -> None:
        session = bot.session
        url = session.api.api_url(token=bot.token, method="sendMessage")
        super().__init__(bot, username, url, float(session.timeout))
        self._bot = bot
        # Texts skip aiogram's models: a JSON POST over the same aiohttp session (see _lean).
        if isinstance(session, AiohttpSession):
            self._lean = LeanSender(session.create_session, url, float(session.timeout))

    async def _download(self, file_id: str) -> bytes:
        file = await self._bot.get_file(file_id)
        if not file.file_path:
            msg = "Telegram returned no file_path for the file"
            raise BadRequest(msg)
        stream = await self._bot.download_file(file.file_path)
        if stream is None:  # pragma: no cover - only with an explicit destination
            msg = "aiogram returned no content for the file"
            raise TransientError(msg)
        return stream.read()

    async def _set_commands(self, commands: Sequence[BotCommand], scope: CommandScope) -> None:
        ag_scope: types.BotCommandScopeDefault | types.BotCommandScopeChat = (
            types.BotCommandScopeDefault()
            if scope.chat_id is None
            else types.BotCommandScopeChat(chat_id=scope.chat_id)
        )
        await self._bot.set_my_commands(
            [types.BotCommand(command=c.command, description=c.description) for c in commands],
            scope=ag_scope,
            language_code=scope.language_code,
        )


class AiogramRun(AdapterRun):
    """A run on aiogram: its Dispatcher polls, or takes our webhook's updates.

    The dispatcher feeds updates one at a time (handle_as_tasks=False, webhook requests
    answered inline); an outer middleware passes each to ``accept``.
    """

    framework = FRAMEWORK

    def __post_init__(self) -> None:
        # The session's JSON loader keeps each fetched update's JSON in ``raw`` (see _convert).
        session = AiohttpSession(
            api=TelegramAPIServer.from_base(self.settings.api_base_url), json_loads=self.raw.loads
        )
        self._bot = Bot(
            self.token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML)
        )
        self._dispatcher = Dispatcher(disable_fsm=True)
        self._dispatcher.update.outer_middleware(self._on_update)
        self._polling: asyncio.Task[None] | None = None
        self._last_update_id: int | None = None

    async def _on_update(
        self,
        _next: Callable[[types.TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: types.TelegramObject,
        _data: dict[str, Any],
    ) -> None:
        if isinstance(event, types.Update):
            self._last_update_id = event.update_id
            self.accept(event.update_id, lambda: event.model_dump(by_alias=True))

    async def _open(self) -> Messenger:
        me = await self._bot.me()
        return AiogramMessenger(self._bot, me.username or "")

    async def _start_polling(self) -> None:
        await self._bot.delete_webhook(drop_pending_updates=False)
        self._polling = asyncio.create_task(
            self._dispatcher.start_polling(
                self._bot,
                polling_timeout=self.settings.poll_timeout,
                handle_as_tasks=False,
                allowed_updates=list(ALLOWED_UPDATES),
                handle_signals=False,
                close_bot_session=False,
            )
        )

    async def _wait(self) -> None:
        """Wait for ``stop``, or for polling to fail; stop polling and confirm what it fetched."""
        polling = self._polling
        if polling is None:
            await self.stop.wait()
            return
        stopping = asyncio.create_task(self.stop.wait())
        await asyncio.wait({polling, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        await self._stop_receiving()
        if not polling.cancelled():
            polling.result()
        if self._last_update_id is not None:
            await self._confirm(self._last_update_id)

    async def _confirm(self, last_update_id: int) -> None:
        """Mark fetched updates as read, so a restart does not fetch them again."""
        try:
            with translated():
                await self._bot.get_updates(
                    offset=last_update_id + 1,
                    limit=1,
                    timeout=0,
                    allowed_updates=list(ALLOWED_UPDATES),
                )
        except (BadRequest, TransientError) as exc:
            logger.warning("Could not confirm fetched updates: %s", type(exc.__cause__).__name__)

    def _api(self) -> BotApi:
        return self._bot

    def _read_update(self, data: dict[str, Any]) -> object:
        return read_update(data, self._bot)

    async def _enqueue(self, update: object) -> None:
        if isinstance(update, types.Update):
            await self._dispatcher.feed_update(self._bot, update)

    async def _stop_receiving(self) -> None:
        polling = self._polling
        if polling is None:
            return
        if not polling.done():
            try:
                await self._dispatcher.stop_polling()
            except RuntimeError:  # the polling task has not started yet
                polling.cancel()
        await asyncio.wait({polling})

    async def _close(self) -> None:
        await self._bot.session.close()
