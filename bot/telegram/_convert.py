"""Incoming values read from the Bot API's own update JSON, for both framework adapters.

Telegram sends each update as a JSON object; both frameworks decode it into
objects of their own, and used to be translated from those, twice. Here the
translation reads the JSON object itself, and only the few fields the handlers
use. Adapters hand it the object as Telegram sent it: kept by ``RawUpdates`` when
the framework decodes a ``getUpdates`` answer or a webhook body, else dumped back
from the framework's object (PTB ``Update.to_dict()``, aiogram ``model_dump``),
which costs more than the translation itself. The framework has validated the
update either way, so the fields read here have the Bot API's types.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, TypeGuard

from bot.messaging import Contact, FileRef, Incoming, Kind, Location, User
from bot.telegram._common import split_command

# A getUpdates answer holds at most 100 updates; far more kept means some were never
# handed over (a fetch that failed to decode, the confirming fetch at shutdown).
MAX_KEPT = 1000

_MEMBER_KINDS = {"kicked": Kind.BLOCKED, "member": Kind.UNBLOCKED}
# Message fields holding one file, in the order they are looked for: Telegram sends an
# animation with a ``document`` field too (for older clients), and it is an animation.
_FILE_FIELDS = (
    ("animation", Kind.ANIMATION),
    ("document", Kind.DOCUMENT),
    ("voice", Kind.VOICE),
    ("video_note", Kind.VIDEO_NOTE),
    ("video", Kind.VIDEO),
    ("audio", Kind.AUDIO),
    ("sticker", Kind.STICKER),
)


class RawUpdates:
    """The JSON objects of updates decoded but not yet translated, by ``update_id``."""

    def __init__(self) -> None:
        self._kept: dict[int, Mapping[str, Any]] = {}

    def keep(self, update: Mapping[str, Any]) -> None:
        """Keep one update's JSON object (a webhook body) until ``take`` asks for it."""
        if len(self._kept) >= MAX_KEPT:
            self._kept.clear()
        self._kept[update["update_id"]] = update

    def keep_answer(self, answer: object) -> None:
        """Keep the updates of a decoded ``getUpdates`` answer; ignore any other answer."""
        if not isinstance(answer, dict):
            return
        result = answer.get("result")
        if not result or not isinstance(result, list):
            return
        first = result[0]
        if not isinstance(first, dict) or "update_id" not in first:
            return  # the answer of another method
        if len(self._kept) + len(result) > MAX_KEPT:
            self._kept.clear()
        for update in result:
            if isinstance(update, dict) and isinstance(update.get("update_id"), int):
                self._kept[update["update_id"]] = update

    def loads(self, content: str | bytes) -> Any:
        """Decode a Bot API answer and keep the updates it holds (a JSON loader for aiogram)."""
        answer = json.loads(content)
        self.keep_answer(answer)
        return answer

    def take(self, update_id: int) -> Mapping[str, Any] | None:
        """Return and forget the JSON object kept for ``update_id``, or None."""
        return self._kept.pop(update_id, None)


def from_update(
    update_id: int, raw: RawUpdates | None, dump: Callable[[], Mapping[str, Any]]
) -> Incoming | None:
    """Translate an update a framework decoded: from its JSON kept in ``raw``, else ``dump()``."""
    data = raw.take(update_id) if raw is not None else None
    return to_incoming(dump() if data is None else data)


def to_incoming(update: Mapping[str, Any]) -> Incoming | None:
    """Translate an update's JSON from a private chat; return None for anything ignored."""
    update_id: int = update["update_id"]
    query = update.get("callback_query")
    if query is not None:
        return _from_callback(update_id, query)
    change = update.get("my_chat_member")
    if change is not None:
        return _from_member(update_id, change)
    message = update.get("message")
    if message is not None:
        return _from_message(update_id, message)
    return None


def _user(user: Mapping[str, Any]) -> User:
    return User(
        id=user["id"],
        first_name=user.get("first_name") or "",
        last_name=user.get("last_name"),
        username=user.get("username"),
        language_code=user.get("language_code"),
    )


def _private(chat: Mapping[str, Any] | None) -> TypeGuard[Mapping[str, Any]]:
    return chat is not None and chat.get("type") == "private"


def _leading(text: str, length: int) -> str:
    """Return the first ``length`` UTF-16 code units of ``text`` (Telegram's entity unit)."""
    if text.isascii():
        return text[:length]
    return text.encode("utf-16-le")[: length * 2].decode("utf-16-le", errors="replace")


def _from_message(update_id: int, message: Mapping[str, Any]) -> Incoming | None:
    chat, sender = message.get("chat"), message.get("from")
    if not _private(chat) or sender is None:
        return None
    chat_id, user = chat["id"], _user(sender)
    replied = message.get("reply_to_message")
    sent = {
        "own_message_id": message["message_id"],
        "reply_to_message_id": replied["message_id"] if replied else None,
    }
    text = message.get("text")
    if text is not None:
        for entity in message.get("entities") or ():
            if entity["offset"] == 0 and entity["type"] == "bot_command":
                name, args = split_command(_leading(text, entity["length"]), text)
                return Incoming(update_id, Kind.COMMAND, chat_id, user, text, name, args, **sent)
        return Incoming(update_id, Kind.TEXT, chat_id, user, text=text, **sent)
    caption = message.get("caption") or None
    content = {"text": caption or "", "caption": caption, **sent}
    for field, kind in _FILE_FIELDS:
        item = message.get(field)
        if item is not None:
            return Incoming(update_id, kind, chat_id, user, file=_file(item), **content)
    photo = message.get("photo")
    if photo:
        big = max(photo, key=lambda p: (p["width"] * p["height"], p.get("file_size") or 0))
        ref = FileRef(big["file_id"], None, "image/jpeg", big.get("file_size"))
        return Incoming(update_id, Kind.PHOTO, chat_id, user, file=ref, **content)
    point = message.get("location")  # a venue has its location too
    if point is not None:
        location = Location(point["latitude"], point["longitude"])
        return Incoming(update_id, Kind.LOCATION, chat_id, user, location=location, **content)
    card = message.get("contact")
    if card is not None:
        contact = Contact(
            card["phone_number"],
            card.get("first_name") or "",
            card.get("last_name"),
            card.get("user_id"),
            card.get("vcard"),
        )
        return Incoming(update_id, Kind.CONTACT, chat_id, user, contact=contact, **content)
    return Incoming(update_id, Kind.OTHER, chat_id, user, **content)


def _file(item: Mapping[str, Any]) -> FileRef:
    duration = item.get("duration")
    return FileRef(
        item["file_id"],
        item.get("file_name"),
        item.get("mime_type"),
        item.get("file_size"),
        int(duration) if isinstance(duration, int | float) else None,
    )


def _from_callback(update_id: int, query: Mapping[str, Any]) -> Incoming | None:
    message = query.get("message")
    if message is None or not _private(message.get("chat")):
        return None
    return Incoming(
        update_id,
        Kind.CALLBACK,
        message["chat"]["id"],
        _user(query["from"]),
        data=query.get("data"),
        callback_id=query["id"],
        message_id=message["message_id"],
    )


def _from_member(update_id: int, change: Mapping[str, Any]) -> Incoming | None:
    if not _private(change.get("chat")):
        return None
    kind = _MEMBER_KINDS.get(change["new_chat_member"]["status"])
    if kind is None:
        return None
    return Incoming(update_id, kind, change["chat"]["id"], _user(change["from"]))
