"""The aiogram 3 adapter: its Messenger and the run loop feeding the handler."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiogram import Bot, Dispatcher, types
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode

from bot.config import TelegramSettings
from bot.errors import BadRequest, TransientError
from bot.messaging import (
    BotCommand,
    Broadcaster,
    CommandScope,
    Keyboard,
    Messenger,
    SentMessage,
    UpdateHandler,
)
from bot.telegram._aiogram_convert import (
    markup,
    read_update,
    reply_parameters,
    startup_errors,
    to_incoming,
    translated,
)
from bot.telegram._common import (
    ALLOWED_UPDATES,
    ChatSequencer,
    first_only,
    is_not_modified,
    photo_filename,
    webhook_params,
)
from bot.telegram._convert import RawUpdates
from bot.telegram._lean import BroadcastSender, LeanSender
from bot.telegram._split import MAX_CAPTION, edit_split, send_split, take
from bot.telegram._webhook import WebhookServer

__all__ = ["AiogramMessenger", "run_aiogram", "to_incoming"]

logger = logging.getLogger(__name__)

OnReady = Callable[[Messenger], Awaitable[None]]


class AiogramMessenger:
    """Send messages through an aiogram ``Bot``."""

    def __init__(self, bot: Bot, username: str) -> None:
        self._bot = bot
        self._username = username
        # Texts skip aiogram's models: a JSON POST over the same aiohttp session (see _lean).
        session = bot.session
        self._lean = (
            LeanSender(
                session.create_session,
                session.api.api_url(token=bot.token, method="sendMessage"),
                float(session.timeout),
            )
            if isinstance(session, AiohttpSession)
            else None
        )

    @property
    def username(self) -> str:
        """Return the bot's username, without the @."""
        return self._username

    async def send_text(
        self,
        chat_id: int,
        text: str,
        buttons: Keyboard = (),
        *,
        paid_broadcast: bool = False,
        reply_to_message_id: int | None = None,
    ) -> SentMessage:
        """Send an HTML text (several messages when it is too long for one), buttons last.

        With ``reply_to_message_id`` the first part replies to that message.
        """
        reply_to = first_only(reply_to_message_id)

        async def send(part: str, keyboard: Keyboard) -> SentMessage:
            if self._lean is not None:
                return await self._lean.send_text(
                    chat_id,
                    part,
                    keyboard,
                    paid_broadcast=paid_broadcast,
                    reply_to_message_id=reply_to(),
                )
            with translated():
                message = await self._bot.send_message(
                    chat_id,
                    part,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup(keyboard),
                    allow_paid_broadcast=paid_broadcast or None,
                    reply_parameters=reply_parameters(reply_to()),
                )
            return SentMessage(message.chat.id, message.message_id)

        return await send_split(send, text, buttons)

    async def copy_message(
        self,
        chat_id: int,
        from_chat_id: int,
        message_id: int,
        *,
        caption: str | None = None,
        buttons: Keyboard = (),
        reply_to_message_id: int | None = None,
    ) -> SentMessage:
        """Copy a message (media arrive as media); a caption too long goes on in texts.

        The buttons stay on the copy; None or "" keeps the original's caption.
        """
        caption, more = take(caption, MAX_CAPTION) if caption else (None, "")
        with translated():
            copied = await self._bot.copy_message(
                chat_id=chat_id,
                from_chat_id=from_chat_id,
                message_id=message_id,
                caption=caption,
                parse_mode=None if caption is None else ParseMode.HTML,
                reply_markup=markup(buttons),
                reply_parameters=reply_parameters(reply_to_message_id),
            )
        if more:
            await self.send_text(chat_id, more)
        return SentMessage(chat_id, copied.message_id)

    def open_broadcast(self, connections: int) -> Broadcaster:
        """Return a lean sender with its own keep-alive connections (closed by its user)."""
        url = self._bot.session.api.api_url(token=self._bot.token, method="sendMessage")
        return BroadcastSender(url, limit=connections, timeout=float(self._bot.session.timeout))

    async def edit_text(
        self, chat_id: int, message_id: int, text: str, buttons: Keyboard = ()
    ) -> None:
        """Replace a sent message's text and buttons; an unchanged message counts as done.

        A text too long for one message fills the edited one and goes on in new messages.
        """

        async def edit(part: str, keyboard: Keyboard) -> None:
            try:
                with translated():
                    await self._bot.edit_message_text(
                        part,
                        chat_id=chat_id,
                        message_id=message_id,
                        parse_mode=ParseMode.HTML,
                        reply_markup=markup(keyboard),
                    )
            except BadRequest as exc:
                if not is_not_modified(exc.description):
                    raise

        async def send(part: str, keyboard: Keyboard) -> SentMessage:
            return await self.send_text(chat_id, part, keyboard)

        await edit_split(edit, send, text, buttons)

    async def send_document(
        self, chat_id: int, filename: str, content: bytes, caption: str = ""
    ) -> SentMessage:
        """Upload and send a document; a caption too long for it goes on in text messages."""
        caption, more = take(caption, MAX_CAPTION)
        with translated():
            message = await self._bot.send_document(
                chat_id,
                types.BufferedInputFile(content, filename=filename),
                caption=caption or None,
                parse_mode=ParseMode.HTML,
            )
        if more:
            await self.send_text(chat_id, more)
        return SentMessage(message.chat.id, message.message_id)

    async def send_photo(self, chat_id: int, content: bytes, caption: str = "") -> SentMessage:
        """Upload and send a photo; a caption too long for it goes on in text messages."""
        caption, more = take(caption, MAX_CAPTION)
        with translated():
            message = await self._bot.send_photo(
                chat_id,
                types.BufferedInputFile(content, filename=photo_filename(content)),
                caption=caption or None,
                parse_mode=ParseMode.HTML,
            )
        if more:
            await self.send_text(chat_id, more)
        return SentMessage(message.chat.id, message.message_id)

    async def answer_callback(self, callback_id: str, text: str = "", alert: bool = False) -> None:
        """Answer a callback query so the client stops its spinner."""
        with translated():
            await self._bot.answer_callback_query(callback_id, text=text or None, show_alert=alert)

    async def download(self, file_id: str) -> bytes:
        """Download a file the user sent."""
        with translated():
            file = await self._bot.get_file(file_id)
            if not file.file_path:
                msg = "Telegram returned no file_path for the file"
                raise BadRequest(msg)
            stream = await self._bot.download_file(file.file_path)
        if stream is None:  # pragma: no cover - only with an explicit destination
            msg = "aiogram returned no content for the file"
            raise TransientError(msg)
        return stream.read()

    async def set_commands(self, commands: Sequence[BotCommand], scope: CommandScope) -> None:
        """Register the command menu for a scope."""
        ag_scope: types.BotCommandScopeDefault | types.BotCommandScopeChat = (
            types.BotCommandScopeDefault()
            if scope.chat_id is None
            else types.BotCommandScopeChat(chat_id=scope.chat_id)
        )
        with translated():
            await self._bot.set_my_commands(
                [types.BotCommand(command=c.command, description=c.description) for c in commands],
                scope=ag_scope,
                language_code=scope.language_code,
            )


async def run_aiogram(
    settings: TelegramSettings,
    token: str,
    handler: UpdateHandler,
    on_ready: OnReady,
    stop: asyncio.Event,
) -> None:
    """Run the bot with aiogram until ``stop`` is set, then shut down cleanly."""
    hook = webhook_params(settings) if settings.mode == "webhook" else None
    # Updates are translated from the JSON they came in (see _convert): the session's JSON
    # loader and the webhook endpoint keep it here until the update reaches ``on_update``.
    raw = RawUpdates()
    session = AiohttpSession(
        api=TelegramAPIServer.from_base(settings.api_base_url), json_loads=raw.loads
    )
    bot = Bot(token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))
    try:
        with startup_errors():
            me = await bot.me()
        messenger = AiogramMessenger(bot, me.username or "")
        # The dispatcher feeds updates one at a time (handle_as_tasks=False, webhook requests
        # answered inline); the middleware only queues them in the ChatSequencer, which keeps
        # each chat in order and runs different chats concurrently.
        sequencer = ChatSequencer(handler, messenger)
        last_update_id: int | None = None

        async def on_update(
            _next: Callable[[types.TelegramObject, dict[str, Any]], Awaitable[Any]],
            event: types.TelegramObject,
            _data: dict[str, Any],
        ) -> None:
            nonlocal last_update_id
            if isinstance(event, types.Update):
                last_update_id = event.update_id
                incoming = to_incoming(event, raw)
                if incoming is not None:
                    sequencer.submit(incoming)

        dispatcher = Dispatcher(disable_fsm=True)
        dispatcher.update.outer_middleware(on_update)
        try:
            if hook is None:
                await _poll(bot, dispatcher, settings, messenger, on_ready, stop)
                if last_update_id is not None:
                    await _confirm(bot, last_update_id)
            else:
                await _serve_webhook(
                    bot, dispatcher, settings, hook, raw, messenger, on_ready, stop
                )
        finally:
            # A few seconds for handlers still running: SIGTERM ends the process in 15 s.
            await sequencer.drain(grace=3.0)
    finally:
        await bot.session.close()
        logger.info("Bot stopped")


async def _poll(
    bot: Bot,
    dispatcher: Dispatcher,
    settings: TelegramSettings,
    messenger: AiogramMessenger,
    on_ready: OnReady,
    stop: asyncio.Event,
) -> None:
    with startup_errors():
        await bot.delete_webhook(drop_pending_updates=False)
    polling = asyncio.create_task(
        dispatcher.start_polling(
            bot,
            polling_timeout=settings.poll_timeout,
            handle_as_tasks=False,
            allowed_updates=list(ALLOWED_UPDATES),
            handle_signals=False,
            close_bot_session=False,
        )
    )
    try:
        logger.info("Bot running with aiogram (polling)")
        await on_ready(messenger)
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({polling, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
    finally:
        if not polling.done():
            try:
                await dispatcher.stop_polling()
            except RuntimeError:  # the polling task has not started yet
                polling.cancel()
        await asyncio.wait({polling})
    if not polling.cancelled():
        polling.result()


async def _confirm(bot: Bot, last_update_id: int) -> None:
    """Mark fetched updates as read, so a restart does not fetch them again."""
    try:
        with translated():
            await bot.get_updates(
                offset=last_update_id + 1,
                limit=1,
                timeout=0,
                allowed_updates=list(ALLOWED_UPDATES),
            )
    except (BadRequest, TransientError) as exc:
        logger.warning("Could not confirm fetched updates: %s", type(exc.__cause__).__name__)


async def _serve_webhook(
    bot: Bot,
    dispatcher: Dispatcher,
    settings: TelegramSettings,
    hook: tuple[str, str, str],
    raw: RawUpdates,
    messenger: AiogramMessenger,
    on_ready: OnReady,
    stop: asyncio.Event,
) -> None:
    url, path, secret = hook

    # aiogram's own SimpleRequestHandler answers a malformed body with 500 and a logged
    # traceback; ours answers 400 (see ``_webhook``). Feeding is inline, as before: the
    # middleware only queues the update in the ChatSequencer.
    async def feed(data: dict[str, Any]) -> None:
        update = read_update(data, bot)
        raw.keep(data)
        await dispatcher.feed_update(bot, update)

    server = WebhookServer(path, secret, feed)
    try:
        await server.start(settings.listen_host, settings.listen_port)
        with startup_errors():
            await bot.set_webhook(
                url,
                secret_token=secret,
                allowed_updates=list(ALLOWED_UPDATES),
                drop_pending_updates=False,
            )
        logger.info("Bot running with aiogram (webhook)")
        await on_ready(messenger)
        await stop.wait()
    finally:
        await server.stop()
