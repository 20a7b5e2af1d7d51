"""Message views: the Bot API Message object and the control API's message record."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.sandbox.emulator import Emulator
    from bot.sandbox.state import Message

JsonDict = dict[str, Any]

# Message fields that name what a message carries, in the order they are looked for: an
# animation message also has a ``document`` field.
_MEDIA_KINDS = (
    "animation",
    "document",
    "photo",
    "sticker",
    "voice",
    "video",
    "video_note",
    "audio",
    "location",
    "contact",
)
# Message fields of service messages (nothing to copy) the emulator makes.
SERVICE_FIELDS = ("pinned_message",)
# Fields whose file gets a download ``url`` in the control API's view.
_FILE_FIELDS = ("document", "sticker", "voice", "video", "video_note", "audio", "animation")


def api_message(emu: Emulator, message: Message, with_reply: bool = True) -> JsonDict:
    """Return the Message object Telegram would send for ``message``."""
    chat = emu.world.chats.get(message.chat_id)
    user_json = chat.user.to_json() if chat is not None else {"id": message.chat_id}
    chat_json = (
        chat.user.chat_json()
        if chat is not None
        else {"id": message.chat_id, "type": "private", "first_name": ""}
    )
    result: JsonDict = {
        "message_id": message.message_id,
        "from": emu.bot_user if message.from_bot else user_json,
        "chat": chat_json,
        "date": message.date,
    }
    if message.edit_date is not None:
        result["edit_date"] = message.edit_date
    if with_reply and message.reply_to is not None:
        replied = emu.world.find_message(message.chat_id, message.reply_to)
        if replied is not None:
            result["reply_to_message"] = api_message(emu, replied, with_reply=False)
    if message.media is None:
        if message.text is not None:
            result["text"] = message.text
            if message.entities:
                result["entities"] = message.entities
    else:
        result.update(message.media)
        if message.text:
            result["caption"] = message.text
            if message.entities:
                result["caption_entities"] = message.entities
    if message.protected:
        result["has_protected_content"] = True
    if message.reply_markup is not None:
        result["reply_markup"] = message.reply_markup
    return result


def message_kind(message: Message) -> str:
    """Return what the message carries: text, a media field (photo, voice...) or service."""
    if message.media:
        for kind in _MEDIA_KINDS:
            if kind in message.media:
                return kind
        if any(name in message.media for name in SERVICE_FIELDS):
            return "service"
        return "other"
    return "text"


def is_service(message: Message) -> bool:
    """Return True for a service message (such as a pin), which cannot be copied."""
    return message.media is not None and any(name in message.media for name in SERVICE_FIELDS)


def control_message(emu: Emulator, message: Message, base_url: str) -> JsonDict:
    """Return the message as the control API shows it (what the user sees)."""
    media = message.media or {}
    files = {
        name: {**media[name], "url": emu.file_url(base_url, media[name]["file_id"])}
        if name in media
        else None
        for name in _FILE_FIELDS
    }
    photo = media.get("photo")
    if photo is not None:
        photo = [{**size, "url": emu.file_url(base_url, size["file_id"])} for size in photo]
    return {
        "seq": message.seq,
        "chat_id": message.chat_id,
        "message_id": message.message_id,
        "from_bot": message.from_bot,
        "date": message.date,
        "kind": message_kind(message),
        "text": message.text,
        "html": message.source if (message.parse_mode or "").lower() == "html" else None,
        "parse_mode": message.parse_mode,
        "entities": message.entities,
        "reply_markup": message.reply_markup,
        "reply_to_message_id": message.reply_to,
        "photo": photo,
        **files,
        "location": media.get("location"),
        "contact": media.get("contact"),
        "pinned_message_id": _pinned_id(media),
        "copy_of": _copy_of(message),
        "edited": message.edit_date is not None,
        "edit_date": message.edit_date,
        "deleted": message.deleted,
    }


def _pinned_id(media: JsonDict) -> int | None:
    pinned = media.get("pinned_message")
    return pinned.get("message_id") if isinstance(pinned, dict) else None


def _copy_of(message: Message) -> JsonDict | None:
    if message.copy_of is None:
        return None
    chat_id, message_id = message.copy_of
    return {"chat_id": chat_id, "message_id": message_id}
