"""The emulated world: users, their private chats with the bot, messages and callbacks.

Message ids are counted per chat and shared by the user's and the bot's messages,
as in Telegram private chats. Every send, edit and delete bumps a global change
counter (``seq``) that the control API uses to report what changed since a point.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

JsonDict = dict[str, Any]

# Each chat keeps at most this many messages; the oldest are forgotten first.
HISTORY_LIMIT = 1000


@dataclass(slots=True)
class SimUser:
    """A simulated Telegram user."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None

    def to_json(self) -> JsonDict:
        """Return the User object."""
        user: JsonDict = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            user["last_name"] = self.last_name
        if self.username:
            user["username"] = self.username
        if self.language_code:
            user["language_code"] = self.language_code
        return user

    def chat_json(self) -> JsonDict:
        """Return the Chat object of the user's private chat with the bot."""
        chat: JsonDict = {"id": self.id, "first_name": self.first_name}
        if self.last_name:
            chat["last_name"] = self.last_name
        if self.username:
            chat["username"] = self.username
        chat["type"] = "private"
        return chat


@dataclass(slots=True, eq=False)
class Message:
    """One message in a private chat, sent by the user or by the bot.

    ``text`` is the plain text (or caption, when ``media`` is set), ``source`` the
    text as the bot sent it with ``parse_mode``; ``media`` holds the Message fields
    of a non-text message (``document``, ``photo``, ``sticker``, ``voice``, ``video``,
    ``video_note``, ``audio``, ``animation`` with ``document``, ``location``,
    ``contact``, or a service message's ``pinned_message``). ``copy_of`` is the
    (chat id, message id) a bot's ``copyMessage`` copied, for the control API.
    """

    chat_id: int
    message_id: int
    from_bot: bool
    date: int
    seq: int
    text: str | None = None
    entities: list[JsonDict] = field(default_factory=list)
    source: str | None = None
    parse_mode: str | None = None
    media: JsonDict | None = None
    reply_markup: JsonDict | None = None
    reply_to: int | None = None
    copy_of: tuple[int, int] | None = None
    protected: bool = False
    edit_date: int | None = None
    deleted: bool = False


@dataclass(slots=True)
class Chat:
    """A user's private chat with the bot."""

    user: SimUser
    instance: str
    blocked: bool = False
    next_message_id: int = 1
    messages: dict[int, Message] = field(default_factory=dict)

    @property
    def id(self) -> int:
        """Return the chat id (the user's id, as in Telegram private chats)."""
        return self.user.id


@dataclass(slots=True)
class CallbackRecord:
    """A pressed inline button and how the bot answered it."""

    id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str | None
    created: float
    answer: JsonDict | None = None

    def to_json(self) -> JsonDict:
        """Return the record for the control API."""
        return {
            "callback_query_id": self.id,
            "user_id": self.user_id,
            "chat_id": self.chat_id,
            "message_id": self.message_id,
            "data": self.data,
            "created": self.created,
            "answered": self.answer is not None,
            "answer": self.answer,
        }


class World:
    """Keep users, chats, messages and callback queries in memory."""

    def __init__(self) -> None:
        self.users: dict[int, SimUser] = {}
        self.chats: dict[int, Chat] = {}
        self.callbacks: dict[str, CallbackRecord] = {}
        self.seq = 0
        self._watchers: dict[int, list[asyncio.Future[None]]] = {}
        self._callback_counter = secrets.randbelow(1 << 40) << 20

    def upsert_user(
        self,
        user_id: int,
        first_name: str | None = None,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
    ) -> SimUser:
        """Create the user (and its chat) or update the fields given."""
        user = self.users.get(user_id)
        if user is None:
            user = SimUser(user_id, first_name or f"User {user_id}")
            self.users[user_id] = user
            self.chats[user_id] = Chat(user, instance=str(secrets.randbelow(1 << 62)))
        elif first_name:
            user.first_name = first_name
        if last_name is not None:
            user.last_name = last_name or None
        if username is not None:
            user.username = username.removeprefix("@") or None
        if language_code is not None:
            user.language_code = language_code or None
        return user

    def add_message(self, chat: Chat, from_bot: bool, **fields: Any) -> Message:
        """Store a new message in ``chat`` with the next message id."""
        message_id = chat.next_message_id
        chat.next_message_id = message_id + 1
        self.seq += 1
        message = Message(chat.id, message_id, from_bot, int(time.time()), self.seq, **fields)
        messages = chat.messages
        messages[message_id] = message
        if len(messages) > HISTORY_LIMIT:
            del messages[next(iter(messages))]
        if self._watchers:
            self._notify(chat.id)
        return message

    def touch(self, message: Message) -> None:
        """Record that ``message`` changed (edited or deleted)."""
        self.seq += 1
        message.seq = self.seq
        if self._watchers:
            self._notify(message.chat_id)

    def find_message(self, chat_id: int, message_id: int) -> Message | None:
        """Return a message that still exists, or None."""
        chat = self.chats.get(chat_id)
        if chat is None:
            return None
        message = chat.messages.get(message_id)
        return None if message is None or message.deleted else message

    def new_callback(self, user_id: int, message_id: int, data: str | None) -> CallbackRecord:
        """Create a callback query record with a fresh id."""
        self._callback_counter += 1 + secrets.randbelow(1000)
        record = CallbackRecord(
            str(self._callback_counter), user_id, user_id, message_id, data, time.time()
        )
        self.callbacks[record.id] = record
        return record

    async def wait_for_change(self, chat_id: int, seconds: float) -> None:
        """Wait until a message in the chat changes, or ``seconds`` pass."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._watchers.setdefault(chat_id, []).append(waiter)
        try:
            await asyncio.wait_for(waiter, seconds)
        except TimeoutError:
            pass
        finally:
            waiters = self._watchers.get(chat_id)
            if waiters is not None and waiter in waiters:
                waiters.remove(waiter)
                if not waiters:
                    del self._watchers[chat_id]

    def reset(self) -> None:
        """Forget users, chats, messages and callbacks (``seq`` keeps growing)."""
        self.users.clear()
        self.chats.clear()
        self.callbacks.clear()
        for waiters in self._watchers.values():
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)
        self._watchers.clear()

    def _notify(self, chat_id: int) -> None:
        waiters = self._watchers.pop(chat_id, None)
        if waiters:
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)
