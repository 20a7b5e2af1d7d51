"""What both framework adapters share: the Messenger's rules and the order of a run.

``AdapterMessenger`` keeps the rules every Messenger follows (long texts in
parts, a caption too long going on in text messages, an edit that changes
nothing counting as done, each framework call's errors translated, campaigns
through a ``BroadcastSender``); an adapter supplies only the framework's calls.
``AdapterRun`` keeps the order of a run (start-up, polling or our webhook
endpoint, ``on_ready``, waiting for ``stop``, then stopping, draining the
handlers and closing); an adapter supplies how its framework opens, polls, takes
an update and closes.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from bot.config import TelegramSettings
from bot.errors import BadRequest, ConfigError
from bot.messaging import (
    BotCommand,
    Broadcaster,
    CommandScope,
    Keyboard,
    Messenger,
    SentMessage,
    UpdateHandler,
)
from bot.telegram import _convert
from bot.telegram._common import (
    ALLOWED_UPDATES,
    ChatSequencer,
    Framework,
    first_only,
    is_not_modified,
    photo_filename,
)
from bot.telegram._common import webhook_params as read_webhook_params
from bot.telegram._convert import RawUpdates
from bot.telegram._lean import BroadcastSender, LeanSender, text_payload
from bot.telegram._split import MAX_CAPTION, edit_split, send_split, take
from bot.telegram._webhook import WebhookServer

logger = logging.getLogger(__name__)

# A few seconds for handlers still running at shutdown: SIGTERM ends the process in 15 s.
SHUTDOWN_GRACE = 3.0
# The parse mode of every text and caption the bot sends.
HTML = "HTML"

Translated = Callable[[], AbstractContextManager[None]]
# BotApi.send_document or send_photo.
Upload = Callable[..., Awaitable[Any]]


@contextmanager
def startup_errors(
    translated: Translated, rejected: tuple[type[Exception], ...]
) -> Iterator[None]:
    """Translate errors as ``translated`` does, reporting a rejected token as a ConfigError.

    ``rejected`` are the framework's exceptions for a token Telegram does not know.
    """
    try:
        with translated():
            yield
    except BadRequest as exc:
        if isinstance(exc.__cause__, rejected):
            msg = "Telegram rejected the bot token"
            raise ConfigError(msg) from exc
        raise


class BotApi(Protocol):
    """The Bot API calls the shared code makes itself: both frameworks' bots spell them alike.

    What they return is the framework's own object; a sent ``Message`` has ``chat.id``
    and ``message_id`` in both.
    """

    async def send_message(
        self,
        chat_id: int,
        text: str,
        /,
        *,
        parse_mode: str,
        reply_markup: Any,
        allow_paid_broadcast: bool | None,
        reply_parameters: Any,
    ) -> Any:
        """Send a text."""
        ...

    async def copy_message(
        self,
        *,
        chat_id: int,
        from_chat_id: int,
        message_id: int,
        caption: str | None,
        parse_mode: str | None,
        reply_markup: Any,
        reply_parameters: Any,
    ) -> Any:
        """Copy a message; the answer has the copy's ``message_id``."""
        ...

    async def send_document(
        self, chat_id: int, document: Any, /, *, caption: str | None, parse_mode: str
    ) -> Any:
        """Upload a document (the framework's input file)."""
        ...

    async def send_photo(
        self, chat_id: int, photo: Any, /, *, caption: str | None, parse_mode: str
    ) -> Any:
        """Upload a photo (the framework's input file)."""
        ...

    async def edit_message_text(
        self, text: str, /, *, chat_id: int, message_id: int, parse_mode: str, reply_markup: Any
    ) -> Any:
        """Replace a message's text and buttons."""
        ...

    async def answer_callback_query(
        self, callback_query_id: str, /, *, text: str | None, show_alert: bool
    ) -> Any:
        """Answer a callback query."""
        ...

    async def set_webhook(
        self,
        url: str,
        /,
        *,
        allowed_updates: list[str],
        drop_pending_updates: bool,
        secret_token: str,
    ) -> Any:
        """Ask Telegram to POST updates to ``url``."""
        ...


class AdapterMessenger(ABC):
    """The Messenger of an adapter: the rules here, the framework's calls in a subclass.

    Every framework call runs inside ``framework.translated``, which turns the framework's
    errors into the project's DeliveryErrors.
    """

    framework: ClassVar[Framework]

    def __init__(
        self, api: BotApi, username: str, send_message_url: str, broadcast_timeout: float
    ) -> None:
        self._api = api
        # Set by an adapter whose texts may skip the framework (see ``_send_message``).
        self._lean: LeanSender | None = None
        self._username = username
        self._send_message_url = send_message_url
        self._broadcast_timeout = broadcast_timeout

    @property
    def username(self) -> str:
        """Return the bot's username, without the @."""
        return self._username

    async def _send_message(
        self,
        chat_id: int,
        text: str,
        keyboard: Keyboard,
        *,
        paid_broadcast: bool,
        reply_to_message_id: int | None,
    ) -> SentMessage:
        """Send one HTML text within Telegram's limit (a reply even if that message is gone).

        With a lean sender the text skips the framework's models (see ``_lean``).
        """
        if self._lean is not None:
            body = text_payload(
                chat_id,
                text,
                keyboard,
                paid_broadcast=paid_broadcast,
                reply_to_message_id=reply_to_message_id,
            )
            return await self._lean.post(chat_id, body)
        message = await self._api.send_message(
            chat_id,
            text,
            parse_mode=HTML,
            reply_markup=self.framework.markup(keyboard),
            allow_paid_broadcast=paid_broadcast or None,
            reply_parameters=self.framework.reply_parameters(reply_to_message_id),
        )
        return SentMessage(message.chat.id, message.message_id)

    @abstractmethod
    async def _download(self, file_id: str) -> bytes:
        """Return the content of a file the user sent."""

    @abstractmethod
    async def _set_commands(self, commands: Sequence[BotCommand], scope: CommandScope) -> None:
        """Register a command menu."""

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
            with self.framework.translated():
                return await self._send_message(
                    chat_id,
                    part,
                    keyboard,
                    paid_broadcast=paid_broadcast,
                    reply_to_message_id=reply_to(),
                )

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
        with self.framework.translated():
            copied = await self._api.copy_message(
                chat_id=chat_id,
                from_chat_id=from_chat_id,
                message_id=message_id,
                caption=caption,
                parse_mode=None if caption is None else HTML,
                reply_markup=self.framework.markup(buttons),
                reply_parameters=self.framework.reply_parameters(reply_to_message_id),
            )
        if more:
            await self.send_text(chat_id, more)
        return SentMessage(chat_id, copied.message_id)

    def open_broadcast(self, connections: int) -> Broadcaster:
        """Return a lean sender with its own keep-alive connections (closed by its user)."""
        return BroadcastSender(
            self._send_message_url, limit=connections, timeout=self._broadcast_timeout
        )

    async def edit_text(
        self, chat_id: int, message_id: int, text: str, buttons: Keyboard = ()
    ) -> None:
        """Replace a sent message's text and buttons; an unchanged message counts as done.

        A text too long for one message fills the edited one and goes on in new messages.
        """

        async def edit(part: str, keyboard: Keyboard) -> None:
            try:
                with self.framework.translated():
                    await self._api.edit_message_text(
                        part,
                        chat_id=chat_id,
                        message_id=message_id,
                        parse_mode=HTML,
                        reply_markup=self.framework.markup(keyboard),
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
        return await self._upload(self._api.send_document, chat_id, filename, content, caption)

    async def send_photo(self, chat_id: int, content: bytes, caption: str = "") -> SentMessage:
        """Upload and send a photo; a caption too long for it goes on in text messages."""
        filename = photo_filename(content)
        return await self._upload(self._api.send_photo, chat_id, filename, content, caption)

    async def _upload(
        self, send: Upload, chat_id: int, filename: str, content: bytes, caption: str
    ) -> SentMessage:
        caption, more = take(caption, MAX_CAPTION)
        upload = self.framework.input_file(content, filename)
        with self.framework.translated():
            message = await send(chat_id, upload, caption=caption or None, parse_mode=HTML)
        if more:
            await self.send_text(chat_id, more)
        return SentMessage(message.chat.id, message.message_id)

    async def answer_callback(self, callback_id: str, text: str = "", alert: bool = False) -> None:
        """Answer a callback query so the client stops its spinner."""
        with self.framework.translated():
            await self._api.answer_callback_query(callback_id, text=text or None, show_alert=alert)

    async def download(self, file_id: str) -> bytes:
        """Download a file the user sent."""
        with self.framework.translated():
            return await self._download(file_id)

    async def set_commands(self, commands: Sequence[BotCommand], scope: CommandScope) -> None:
        """Register the command menu for a scope."""
        with self.framework.translated():
            await self._set_commands(commands, scope)


@dataclass
class AdapterRun(ABC):
    """One run of the bot on a framework, from start-up to a clean shutdown.

    The framework feeds updates one at a time (so its callback sees Telegram's
    order) into ``accept``, which only translates them (from the JSON they came
    in, kept in ``raw``; see ``_convert``) and queues them in the ChatSequencer;
    that keeps each chat in order and runs different chats concurrently.
    """

    settings: TelegramSettings
    token: str
    handler: UpdateHandler
    on_ready: Callable[[Messenger], Awaitable[None]]
    stop: asyncio.Event
    # Several workers (``scaleout.enabled``): a webhook post is answered only once its
    # update is handled and committed, so a worker that dies mid-update gets a 5xx (or
    # no answer) sent back and Telegram delivers the update again, to another worker.
    answer_after_handling: bool = False
    raw: RawUpdates = field(default_factory=RawUpdates, init=False)
    _sequencer: ChatSequencer | None = field(default=None, init=False)
    _messenger: Messenger | None = field(default=None, init=False)

    framework: ClassVar[Framework]

    @abstractmethod
    def __post_init__(self) -> None:
        """Build the framework's objects (nothing is sent before ``run``)."""

    @abstractmethod
    async def _open(self) -> Messenger:
        """Start the framework (it asks Telegram who the bot is); return its Messenger."""

    @abstractmethod
    async def _start_polling(self) -> None:
        """Start fetching updates with getUpdates."""

    @abstractmethod
    def _api(self) -> BotApi:
        """Return the framework's bot."""

    @abstractmethod
    def _read_update(self, data: dict[str, Any]) -> object:
        """Return the framework's update for a webhook body (raises MalformedUpdate)."""

    @abstractmethod
    async def _enqueue(self, update: object) -> None:
        """Hand a webhook update to the framework, which passes it to ``accept``."""

    @abstractmethod
    async def _stop_receiving(self) -> None:
        """Stop fetching or taking updates (also when the run failed half-way)."""

    @abstractmethod
    async def _close(self) -> None:
        """Release the framework's connections."""

    async def _wait(self) -> None:
        """Return once the run should end (``stop`` set); polling may end it sooner."""
        await self.stop.wait()

    def startup_errors(self) -> AbstractContextManager[None]:
        """Translate errors, reporting a rejected token as a ConfigError."""
        return startup_errors(self.framework.translated, self.framework.rejected_token)

    def accept(self, update_id: int, dump: Callable[[], dict[str, Any]]) -> None:
        """Queue one update the framework took; ``dump`` gives its JSON when none was kept."""
        incoming = _convert.from_update(update_id, self.raw, dump)
        if incoming is not None and self._sequencer is not None:
            self._sequencer.submit(incoming)

    async def run(self) -> None:
        """Run until ``stop`` is set, then shut down cleanly."""
        hook = read_webhook_params(self.settings) if self.settings.mode == "webhook" else None
        server = None if hook is None else WebhookServer(hook[1], hook[2], self._feed)
        try:
            with self.startup_errors():
                messenger = self._messenger = await self._open()
            sequencer = self._sequencer = ChatSequencer(self.handler, messenger)
            try:
                if hook is None or server is None:
                    with self.startup_errors():
                        await self._start_polling()
                else:
                    await self._serve_webhook(server, hook[0], hook[2])
                logger.info("Bot running with %s (%s)", self.framework.name, self.settings.mode)
                await self.on_ready(messenger)
                await self._wait()
            finally:
                try:
                    if server is not None:
                        await server.stop()
                    await self._stop_receiving()
                finally:
                    await sequencer.drain(grace=SHUTDOWN_GRACE)
        finally:
            await self._close()
            logger.info("Bot stopped")

    async def _feed(self, data: dict[str, Any]) -> None:
        """Hand a webhook body on to the framework, keeping its JSON for ``accept``.

        With ``answer_after_handling`` the update is handled here instead, and the
        post is answered when the handler returns (see ``Dispatcher``: one chat's
        updates wait for each other across workers).
        """
        update = self._read_update(data)
        if self.answer_after_handling:
            incoming = _convert.to_incoming(data)
            if incoming is not None and self._messenger is not None:
                await self.handler(incoming, self._messenger)
            return
        self.raw.keep(data)
        await self._enqueue(update)

    async def _serve_webhook(self, server: WebhookServer, url: str, secret: str) -> None:
        """Listen with our endpoint and tell Telegram about it.

        The frameworks' own webhook servers answer a body that is not JSON with 500 and
        log other malformed bodies with a traceback; ours answers 400 (see ``_webhook``).
        """
        await server.start(self.settings.listen_host, self.settings.listen_port)
        with self.startup_errors():
            await self._api().set_webhook(
                url,
                secret_token=secret,
                allowed_updates=list(ALLOWED_UPDATES),
                drop_pending_updates=False,
            )
