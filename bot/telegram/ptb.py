"""The python-telegram-bot adapter: its Messenger and the run loop feeding the handler."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import telegram
from telegram.constants import ParseMode
from telegram.ext import Application, ContextTypes, TypeHandler

from bot.config import TelegramSettings
from bot.errors import BadRequest
from bot.messaging import (
    BotCommand,
    Broadcaster,
    CommandScope,
    Keyboard,
    Messenger,
    SentMessage,
    UpdateHandler,
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
from bot.telegram._lean import BroadcastSender
from bot.telegram._ptb_convert import (
    UpdatesRequest,
    markup,
    read_update,
    reply_parameters,
    startup_errors,
    to_incoming,
    translated,
)
from bot.telegram._split import MAX_CAPTION, edit_split, send_split, take
from bot.telegram._webhook import WebhookServer

__all__ = ["PtbMessenger", "run_ptb", "to_incoming"]

logger = logging.getLogger(__name__)

# Seconds a broadcast request may take before it counts as a network error (retried later).
_BROADCAST_TIMEOUT = 30.0


class PtbMessenger:
    """Send messages through an initialized ``telegram.Bot``."""

    def __init__(self, bot: telegram.Bot, username: str) -> None:
        self._bot = bot
        self._username = username

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
            with translated():
                message = await self._bot.send_message(
                    chat_id,
                    part,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup(keyboard),
                    allow_paid_broadcast=paid_broadcast or None,
                    reply_parameters=reply_parameters(reply_to()),
                )
            return SentMessage(message.chat_id, message.message_id)

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
                chat_id,
                from_chat_id,
                message_id,
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
        url = f"{self._bot.base_url}/sendMessage"
        return BroadcastSender(url, limit=connections, timeout=_BROADCAST_TIMEOUT)

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
                content,
                filename=filename,
                caption=caption or None,
                parse_mode=ParseMode.HTML,
            )
        if more:
            await self.send_text(chat_id, more)
        return SentMessage(message.chat_id, message.message_id)

    async def send_photo(self, chat_id: int, content: bytes, caption: str = "") -> SentMessage:
        """Upload and send a photo; a caption too long for it goes on in text messages."""
        caption, more = take(caption, MAX_CAPTION)
        with translated():
            message = await self._bot.send_photo(
                chat_id,
                content,
                filename=photo_filename(content),
                caption=caption or None,
                parse_mode=ParseMode.HTML,
            )
        if more:
            await self.send_text(chat_id, more)
        return SentMessage(message.chat_id, message.message_id)

    async def answer_callback(self, callback_id: str, text: str = "", alert: bool = False) -> None:
        """Answer a callback query so the client stops its spinner."""
        with translated():
            await self._bot.answer_callback_query(callback_id, text=text or None, show_alert=alert)

    async def download(self, file_id: str) -> bytes:
        """Download a file the user sent."""
        with translated():
            file = await self._bot.get_file(file_id)
            return bytes(await file.download_as_bytearray())

    async def set_commands(self, commands: Sequence[BotCommand], scope: CommandScope) -> None:
        """Register the command menu for a scope."""
        tg_scope: telegram.BotCommandScope = (
            telegram.BotCommandScopeDefault()
            if scope.chat_id is None
            else telegram.BotCommandScopeChat(scope.chat_id)
        )
        with translated():
            await self._bot.set_my_commands(
                [telegram.BotCommand(c.command, c.description) for c in commands],
                scope=tg_scope,
                language_code=scope.language_code,
            )


async def run_ptb(
    settings: TelegramSettings,
    token: str,
    handler: UpdateHandler,
    on_ready: Callable[[Messenger], Awaitable[None]],
    stop: asyncio.Event,
) -> None:
    """Run the bot with python-telegram-bot until ``stop`` is set, then shut down cleanly."""
    hook = webhook_params(settings) if settings.mode == "webhook" else None
    # Updates are translated from the JSON they came in (see _convert): the polling request
    # and the webhook endpoint keep it here until the update reaches ``on_update``.
    raw = RawUpdates()
    application = (
        Application.builder()
        .token(token)
        .base_url(f"{settings.api_base_url}/bot")
        .base_file_url(f"{settings.api_base_url}/file/bot")
        .get_updates_request(UpdatesRequest(raw))
        .job_queue(None)
        .build()
    )
    updater = application.updater
    if updater is None:  # pragma: no cover - the builder always creates one
        msg = "python-telegram-bot built an Application without an Updater"
        raise RuntimeError(msg)
    with startup_errors():
        await application.initialize()
    try:
        messenger = PtbMessenger(application.bot, application.bot.username)
        # PTB handles updates one at a time (concurrent_updates stays off) so the callback
        # sees Telegram's order; it only queues the update in the ChatSequencer, which keeps
        # each chat in order and runs different chats concurrently.
        sequencer = ChatSequencer(handler, messenger)

        async def on_update(update: object, _: ContextTypes.DEFAULT_TYPE) -> None:
            if isinstance(update, telegram.Update):
                incoming = to_incoming(update, raw)
                if incoming is not None:
                    sequencer.submit(incoming)

        application.add_handler(TypeHandler(telegram.Update, on_update))
        await application.start()
        server = _webhook_server(application, hook, raw)
        try:
            with startup_errors():
                if hook is None:
                    await updater.start_polling(
                        timeout=dt.timedelta(seconds=settings.poll_timeout),
                        allowed_updates=list(ALLOWED_UPDATES),
                        drop_pending_updates=False,
                    )
                elif server is not None:
                    url, _, secret = hook
                    await server.start(settings.listen_host, settings.listen_port)
                    await application.bot.set_webhook(
                        url,
                        secret_token=secret,
                        allowed_updates=list(ALLOWED_UPDATES),
                        drop_pending_updates=False,
                    )
            logger.info("Bot running with python-telegram-bot (%s)", settings.mode)
            await on_ready(messenger)
            await stop.wait()
        finally:
            if server is not None:
                await server.stop()
            if updater.running:
                await updater.stop()
            await application.stop()
            # A few seconds for handlers still running: SIGTERM ends the process in 15 s.
            await sequencer.drain(grace=3.0)
    finally:
        await application.shutdown()
        logger.info("Bot stopped")


def _webhook_server(
    application: Application[Any, Any, Any, Any, Any, Any],
    hook: tuple[str, str, str] | None,
    raw: RawUpdates,
) -> WebhookServer | None:
    """Return our webhook endpoint feeding PTB's update queue (None in polling mode).

    PTB's own webhook server answers a body that is not JSON with 500 and logs other
    malformed bodies with a traceback; ours answers 400 (see ``_webhook``).
    """
    if hook is None:
        return None
    _, path, secret = hook

    async def feed(data: dict[str, Any]) -> None:
        update = read_update(data, application.bot)
        raw.keep(data)
        await application.update_queue.put(update)

    return WebhookServer(path, secret, feed)
