"""The emulator: one bot's whole in-memory Bot API state and the user-side actions on it."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.sandbox.commands import CommandRegistry
from bot.sandbox.errors import ApiError, ControlError, blocked_by_user, chat_not_found
from bot.sandbox.faults import FaultBook, StrictLimiter
from bot.sandbox.files import FileStore
from bot.sandbox.markup import has_callback_button
from bot.sandbox.state import CallbackRecord, Chat, Message, SimUser, World
from bot.sandbox.stats import Stats
from bot.sandbox.updates import UpdateQueue
from bot.sandbox.views import api_message
from bot.sandbox.webhook import WebhookSettings

if TYPE_CHECKING:
    from bot.sandbox.server import EmulatorConfig

JsonDict = dict[str, Any]


def bot_id_from_token(token: str) -> int:
    """Return the bot id, the number before the colon of the token.

    Raises:
        ValueError: when the token does not look like ``<digits>:<secret>``.
    """
    head, colon, secret = token.partition(":")
    if not head.isdigit() or not colon or not secret:
        msg = "A bot token looks like '<bot id>:<secret>'"
        raise ValueError(msg)
    return int(head)


class Emulator:
    """Hold everything one emulated bot sees, and act for the simulated users."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.bot_id = bot_id_from_token(config.token)
        self.world = World()
        self.updates = UpdateQueue()
        self.files = FileStore()
        self.commands = CommandRegistry()
        self.faults = FaultBook()
        self.strict = StrictLimiter()
        self.stats = Stats()
        self.webhook = WebhookSettings()
        self.webhook_changed = asyncio.Event()
        self.public_url = config.public_url.rstrip("/") if config.public_url else None
        self.started = time.time()
        self.bot_user: JsonDict = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": config.bot_first_name,
            "username": config.bot_username,
        }

    def get_me(self) -> JsonDict:
        """Return the bot's User object as getMe answers it."""
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def file_url(self, base_url: str, file_id: str) -> str | None:
        """Return the download URL of a stored file, or None when it is gone."""
        stored = self.files.get(file_id)
        if stored is None:
            return None
        return f"{base_url}/file/bot{self.config.token}/{stored.file_path}"

    def lookup_user(self, user_id: int) -> JsonDict | None:
        """Return the User object of a known user, for text mentions."""
        user = self.world.users.get(user_id)
        return user.to_json() if user is not None else None

    def writable_chat(self, chat_id: int) -> Chat:
        """Return the chat the bot wants to send to.

        Raises:
            ApiError: 400 when there is no such chat, 403 when the user blocked the bot.
        """
        chat = self.world.chats.get(chat_id)
        if chat is None:
            raise chat_not_found()
        if chat.blocked:
            raise blocked_by_user()
        return chat

    def notify_webhook_changed(self) -> None:
        """Wake the webhook pusher after the webhook settings changed."""
        self.webhook_changed.set()
        self.updates.wake()

    def user_message(self, user: SimUser, **fields: Any) -> tuple[Message, int | None]:
        """Store a message the user sends and queue its ``message`` update.

        Raises:
            ControlError: 409 when the user has blocked the bot.
        """
        chat = self.world.chats[user.id]
        if chat.blocked:
            raise ControlError(409, "the user has blocked the bot; unblock first")
        message = self.world.add_message(chat, from_bot=False, **fields)
        update_id = self.updates.push("message", api_message(self, message))
        return message, update_id

    def set_blocked(self, user: SimUser, blocked: bool) -> int | None:
        """Block or unblock the bot for a user; return the my_chat_member update_id."""
        chat = self.world.chats[user.id]
        if chat.blocked == blocked:
            return None
        chat.blocked = blocked
        member: JsonDict = {"user": self.bot_user, "status": "member"}
        kicked: JsonDict = {"user": self.bot_user, "status": "kicked", "until_date": 0}
        payload: JsonDict = {
            "chat": user.chat_json(),
            "from": user.to_json(),
            "date": int(time.time()),
            "old_chat_member": member if blocked else kicked,
            "new_chat_member": kicked if blocked else member,
        }
        return self.updates.push("my_chat_member", payload)

    def press_button(
        self, user: SimUser, message_id: int, data: str, force: bool
    ) -> tuple[CallbackRecord, int | None]:
        """Press an inline button and queue the ``callback_query`` update.

        Raises:
            ControlError: 404 for a missing message, 400 for a missing button (unless
                ``force``), 409 when the user has blocked the bot.
        """
        chat = self.world.chats[user.id]
        if chat.blocked:
            raise ControlError(409, "the user has blocked the bot; unblock first")
        message = self.world.find_message(chat.id, message_id)
        if message is None and not force:
            raise ControlError(404, f"message {message_id} not found in chat {chat.id}")
        if not force and (
            message is None
            or not message.from_bot
            or not has_callback_button(message.reply_markup, data)
        ):
            raise ControlError(
                400, f"message {message_id} has no inline button with this callback_data"
            )
        record = self.world.new_callback(user.id, message_id, data)
        payload: JsonDict = {"id": record.id, "from": user.to_json()}
        if message is not None:
            payload["message"] = api_message(self, message)
        else:
            payload["message"] = {"chat": user.chat_json(), "message_id": message_id, "date": 0}
        payload["chat_instance"] = chat.instance
        payload["data"] = data
        return record, self.updates.push("callback_query", payload)

    def answer_callback(self, query_id: str, answer: JsonDict) -> None:
        """Record the bot's answer to a callback query.

        Raises:
            ApiError: 400 when the query is unknown or already answered.
        """
        record = self.world.callbacks.get(query_id)
        if record is None or record.answer is not None:
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is "
                "invalid",
            )
        record.answer = {**answer, "answered_at": time.time()}

    def reset(self) -> None:
        """Forget users, chats, messages, updates, files, faults, stats, callbacks, webhook."""
        self.world.reset()
        self.updates.drop_pending()
        self.updates.set_allowed(None)
        self.files.clear()
        self.faults.clear()
        self.stats.reset()
        self.webhook = WebhookSettings()
        self.notify_webhook_changed()


# Where an application keeps its Emulator.
EMULATOR_KEY = web.AppKey("emulator", Emulator)
