"""Per-chat ordered dispatch and small helpers shared by both framework adapters."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from bot.config import TelegramSettings
from bot.errors import (
    BadRequest,
    Blocked,
    ConfigError,
    DeliveryError,
    RetryAfter,
    TransientError,
)
from bot.messaging import Button, Incoming, Keyboard, Messenger, UpdateHandler
from bot.metrics import METRICS

logger = logging.getLogger(__name__)

# The update types the handlers understand; everything else is never fetched.
ALLOWED_UPDATES = ("message", "callback_query", "my_chat_member")
# How long a shutdown waits for handlers that are still running.
DRAIN_TIMEOUT = 10.0
# At most this many handler calls run at once (one per chat at most).
MAX_CONCURRENT_HANDLERS = 32

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class ChatSequencer:
    """Run handler calls in arrival order per chat and concurrently across chats.

    Adapters call ``submit`` from the framework's (sequential) update callback, so
    arrival order is Telegram's order; each chat gets a worker task that empties
    its own queue, and a semaphore caps how many handlers run at once.
    """

    def __init__(
        self,
        handler: UpdateHandler,
        messenger: Messenger,
        max_concurrent: int = MAX_CONCURRENT_HANDLERS,
    ) -> None:
        self._handler = handler
        self._messenger = messenger
        self._slots = asyncio.Semaphore(max_concurrent)
        self._queues: dict[int, deque[Incoming]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def submit(self, incoming: Incoming) -> None:
        """Queue one update behind earlier updates of the same chat."""
        queue = self._queues.get(incoming.chat_id)
        if queue is not None:
            queue.append(incoming)
            return
        queue = deque([incoming])
        self._queues[incoming.chat_id] = queue
        task = asyncio.create_task(self._work(incoming.chat_id, queue))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, grace: float = DRAIN_TIMEOUT) -> None:
        """Wait for queued and running handler calls; cancel what is left after ``grace`` s."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=grace)
        if pending:
            left = sum(len(queue) for queue in self._queues.values())
            logger.warning(
                "Cancelling %d chat workers (%d updates) at shutdown", len(pending), left
            )
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def _work(self, chat_id: int, queue: deque[Incoming]) -> None:
        try:
            while queue:
                await self._call(queue.popleft())
        finally:
            if self._queues.get(chat_id) is queue:
                del self._queues[chat_id]

    async def _call(self, incoming: Incoming) -> None:
        async with self._slots:
            try:
                await self._handler(incoming, self._messenger)
            except Exception:
                logger.exception(
                    "Handler failed on update %d (%s)", incoming.update_id, incoming.kind
                )


def split_command(command_text: str, text: str) -> tuple[str, str]:
    """Return the command name (lower-case, no slash, no @bot) and the stripped rest of ``text``.

    ``command_text`` is the text covered by the leading ``bot_command`` entity.
    """
    name = command_text.removeprefix("/").partition("@")[0].lower()
    return name, text[len(command_text) :].strip()


def first_only(value: int | None) -> Callable[[], int | None]:
    """Return a function giving ``value`` on its first call and None after.

    A long text goes out in parts; only the first part is the reply.
    """
    left = [value]

    def take() -> int | None:
        return left.pop() if left else None

    return take


def reply_json(message_id: int) -> dict[str, Any]:
    """Return the ``reply_parameters`` of a reply that is sent even when that message is gone."""
    return {"message_id": message_id, "allow_sending_without_reply": True}


def keyboard_json(buttons: Keyboard) -> dict[str, Any]:
    """Return the ``reply_markup`` of an inline keyboard as Bot API JSON."""
    return {"inline_keyboard": [[_button(b) for b in row] for row in buttons]}


def _button(button: Button) -> dict[str, str | None]:
    if button.url:
        return {"text": button.text, "url": button.url}
    return {"text": button.text, "callback_data": button.data}


def photo_filename(content: bytes) -> str:
    """Return an upload file name whose extension matches the image bytes."""
    return "photo.png" if content.startswith(_PNG_MAGIC) else "photo.jpg"


def is_not_modified(description: str) -> bool:
    """Return True when a 400 description says an edit changed nothing."""
    return "message is not modified" in description.lower()


def webhook_params(settings: TelegramSettings) -> tuple[str, str, str]:
    """Return the webhook URL, the local path it maps to and the secret token.

    Raises:
        ConfigError: when the URL or the secret is not configured.
    """
    if not settings.webhook_url:
        msg = "Config 'telegram.webhook_url' is required in webhook mode"
        raise ConfigError(msg)
    if settings.webhook_secret is None or not settings.webhook_secret.get_secret_value():
        msg = (
            "Config 'telegram.webhook_secret' (SCRM_TELEGRAM__WEBHOOK_SECRET) is required "
            "in webhook mode"
        )
        raise ConfigError(msg)
    path = urlsplit(settings.webhook_url).path or "/"
    return settings.webhook_url, path, settings.webhook_secret.get_secret_value()


@dataclass(frozen=True, slots=True)
class Framework:
    """What the shared adapter code needs from a framework's ``_*_convert`` module."""

    # Named in the log line once the bot runs.
    name: str
    # A context turning the framework's exceptions raised in it into DeliveryErrors.
    translated: Callable[[], AbstractContextManager[None]]
    # The framework's inline keyboard read from the Bot API's JSON of one.
    keyboard: Callable[[dict[str, Any]], object]
    # The framework's reply parameters read from the Bot API's JSON of them.
    reply: Callable[[dict[str, Any]], object]
    # The framework's file to upload, from its content and file name.
    input_file: Callable[[bytes, str], object]
    # What the framework raises for a token Telegram does not know.
    rejected_token: tuple[type[Exception], ...]

    def markup(self, buttons: Keyboard) -> object:
        """Return the framework's inline keyboard for ``buttons``, or None when there are none."""
        return self.keyboard(keyboard_json(buttons)) if buttons else None

    def reply_parameters(self, message_id: int | None) -> object:
        """Return the framework's reply to ``message_id`` (see ``reply_json``), or None."""
        return None if message_id is None else self.reply(reply_json(message_id))


@dataclass(frozen=True, slots=True)
class ErrorKinds:
    """A framework's exceptions for Telegram's answers, by the DeliveryError each stands for.

    ``api`` is the base of them all: any other answer may succeed later.
    """

    api: type[Exception]
    blocked: type[Exception]
    retry_after: type[Exception]
    permanent: tuple[type[Exception], ...]


@contextmanager
def translating(kinds: ErrorKinds, retry_seconds: Callable[[Any], float]) -> Iterator[None]:
    """Turn the framework's exceptions for Telegram's answers into DeliveryErrors.

    Both frameworks keep Telegram's description in the exception's ``message``;
    ``retry_seconds`` reads the wait out of a ``retry_after`` one.
    """
    try:
        yield
    except kinds.api as exc:
        message = str(getattr(exc, "message", exc))
        error: DeliveryError
        if isinstance(exc, kinds.blocked):
            error = Blocked(message)
        elif isinstance(exc, kinds.retry_after):
            error = RetryAfter(message, retry_seconds(exc))
        elif isinstance(exc, kinds.permanent):
            error = BadRequest(message)
        else:
            error = TransientError(message)  # server errors, network, 409
        METRICS.telegram_error(error)
        raise error from exc
