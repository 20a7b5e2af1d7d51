"""Bot API methods that send content other than text and files, or copy messages.

``sendLocation`` and ``sendContact`` send what they say; ``copyMessage`` and
``copyMessages`` send copies of messages (the user's or the bot's) into a chat: the
same content from the bot, with no link to the original. A copy's new caption
replaces the caption of a document, photo, voice, audio, video or animation and
is ignored for other content; service messages (such as a pin) cannot be copied.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

from bot.sandbox.arguments import caption_arg, chat_id_arg, markup_arg, reply_arg
from bot.sandbox.errors import ApiError, chat_not_found
from bot.sandbox.formatting import format_text
from bot.sandbox.media import CAPTIONED
from bot.sandbox.methods_files import send_media
from bot.sandbox.registry import api_method
from bot.sandbox.views import is_service, message_kind

if TYPE_CHECKING:
    from bot.sandbox.emulator import Emulator
    from bot.sandbox.formatting import Formatted
    from bot.sandbox.params import JsonDict, Params
    from bot.sandbox.state import Chat, Message

# copyMessages copies at most this many messages at once.
MAX_COPIED = 100
NOT_FOUND = "Bad Request: message to copy not found"
CANNOT_COPY = "Bad Request: message can't be copied"


def _required(params: Params, name: str) -> str:
    value = (params.text(name) or "").strip()
    if not value:
        raise ApiError(400, f'Bad Request: parameter "{name}" is required')
    return value


def _number(params: Params, name: str) -> float:
    """Return a float parameter, leniently as the Bot API server reads one (garbage is 0)."""
    try:
        return float((params.text(name) or "").strip())
    except ValueError:
        return 0.0


@api_method("sendLocation", sends_message=True)
async def send_location(emu: Emulator, params: Params) -> object:
    """Send a point on the map."""
    chat_id = chat_id_arg(params)
    for name in ("latitude", "longitude"):
        if not (params.text(name) or "").strip():
            raise ApiError(400, f"Bad Request: {name} is empty")
    location: JsonDict = {
        "latitude": _number(params, "latitude"),
        "longitude": _number(params, "longitude"),
    }
    accuracy = _number(params, "horizontal_accuracy")
    if accuracy > 0:
        location["horizontal_accuracy"] = min(accuracy, 1500.0)
    return send_media(emu, params, chat_id, format_text("", None, None), {"location": location})


@api_method("sendContact", sends_message=True)
async def send_contact(emu: Emulator, params: Params) -> object:
    """Send a phone contact."""
    chat_id = chat_id_arg(params)
    contact: JsonDict = {
        "phone_number": _required(params, "phone_number"),
        "first_name": _required(params, "first_name"),
    }
    for name in ("last_name", "vcard"):
        value = params.text(name)
        if value:
            contact[name] = value
    return send_media(emu, params, chat_id, format_text("", None, None), {"contact": contact})


def _from_chat(emu: Emulator, params: Params) -> Chat:
    raw = _required(params, "from_chat_id")
    try:
        chat = emu.world.chats.get(int(raw))
    except ValueError:
        raise chat_not_found() from None
    if chat is None:
        raise chat_not_found()
    return chat


def _copied(
    emu: Emulator,
    target: Chat,
    original: Message,
    caption: Formatted | None,
    params: Params,
    markup: JsonDict | None = None,
    reply_to: int | None = None,
) -> Message:
    """Store the copy of ``original`` in ``target``; a ``caption`` replaces a media caption."""
    text, entities = original.text, list(original.entities)
    source, parse_mode = original.source, original.parse_mode
    if caption is not None and message_kind(original) in CAPTIONED:
        text, entities = caption.text or None, caption.entities
        parse_mode = params.text("parse_mode") or None
        source = params.text("caption") if parse_mode else None
    return emu.world.add_message(
        target,
        True,
        text=text,
        entities=copy.deepcopy(entities),
        source=source,
        parse_mode=parse_mode,
        media=copy.deepcopy(original.media),
        copy_of=(original.chat_id, original.message_id),
        reply_markup=markup,
        reply_to=reply_to,
        protected=params.flag("protect_content"),
    )


@api_method("copyMessage", sends_message=True)
async def copy_message(emu: Emulator, params: Params) -> object:
    """Copy one message into a chat and return its MessageId."""
    chat_id = chat_id_arg(params)
    source_chat = _from_chat(emu, params)
    caption = caption_arg(emu, params) if params.raw("caption") is not None else None
    markup = markup_arg(params)
    original = emu.world.find_message(source_chat.id, params.integer("message_id"))
    if original is None:
        raise ApiError(400, NOT_FOUND)
    if is_service(original):
        raise ApiError(400, CANNOT_COPY)
    target = emu.writable_chat(chat_id)
    reply_to = reply_arg(emu, params, target)
    message = _copied(emu, target, original, caption, params, markup, reply_to)
    return {"message_id": message.message_id}


def _message_ids(params: Params) -> list[int]:
    """Return ``message_ids`` as the Bot API server reads them.

    Raises:
        ApiError: 400 for a missing, malformed, too long or unordered list.
    """
    raw = params.json("message_ids", "message_ids")
    if raw is None:
        raise ApiError(400, "Bad Request: message identifiers are not specified")
    if not isinstance(raw, list):
        raise ApiError(400, "Bad Request: expected an Array of message identifiers")
    if len(raw) > MAX_COPIED:
        raise ApiError(400, "Bad Request: too many message identifiers specified")
    ids: list[int] = []
    for value in raw:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ApiError(400, "Bad Request: message identifier must be a Number")
        try:
            message_id = int(value)
        except ValueError:
            raise ApiError(
                400, "Bad Request: can't parse message identifier as a Number"
            ) from None
        if message_id <= 0:
            raise ApiError(400, "Bad Request: invalid message identifier specified")
        ids.append(message_id)
    if not ids:
        raise ApiError(400, "Bad Request: message identifiers are not specified")
    if any(later <= earlier for earlier, later in zip(ids, ids[1:], strict=False)):
        raise ApiError(
            400, "Bad Request: message identifiers must be in a strictly increasing order"
        )
    return ids


@api_method("copyMessages", sends_message=True)
async def copy_messages(emu: Emulator, params: Params) -> object:
    """Copy several messages in order, skipping those missing or not copyable."""
    chat_id = chat_id_arg(params)
    source_chat = _from_chat(emu, params)
    ids = _message_ids(params)
    target = emu.writable_chat(chat_id)
    originals = [emu.world.find_message(source_chat.id, message_id) for message_id in ids]
    copyable = [m for m in originals if m is not None and not is_service(m)]
    if not copyable:
        raise ApiError(400, "Bad Request: messages can't be forwarded")
    removed = format_text("", None, None) if params.flag("remove_caption") else None
    return [
        {"message_id": _copied(emu, target, original, removed, params).message_id}
        for original in copyable
    ]
