"""Method arguments shared by several Bot API methods: chat, text, caption, markup, reply."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.sandbox.errors import ApiError, chat_not_found
from bot.sandbox.formatting import Formatted, format_text
from bot.sandbox.markup import parse_reply_markup

if TYPE_CHECKING:
    from bot.sandbox.emulator import Emulator
    from bot.sandbox.params import Params
    from bot.sandbox.state import Chat

JsonDict = dict[str, Any]

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024


def chat_id_arg(params: Params) -> int:
    """Return the ``chat_id`` parameter.

    Raises:
        ApiError: 400 when it is missing or names no chat (e.g. a ``@username``).
    """
    raw = params.text("chat_id")
    if raw is None or not raw.strip():
        raise ApiError(400, "Bad Request: chat_id is empty")
    try:
        return int(raw.strip())
    except ValueError:
        raise chat_not_found() from None


def message_id_arg(params: Params, name: str = "message_id") -> int:
    """Return a message id parameter.

    Raises:
        ApiError: 400 when it is missing.
    """
    message_id = params.integer(name)
    if message_id == 0 and params.raw(name) is None:
        raise ApiError(400, "Bad Request: message identifier is not specified")
    return message_id


def text_arg(emu: Emulator, params: Params) -> Formatted:
    """Return the formatted ``text`` of a text message, before length checks.

    Raises:
        ApiError: 400 when the text is missing or its markup cannot be parsed.
    """
    text = params.text("text")
    if not text:
        raise ApiError(400, "Bad Request: message text is empty")
    return format_text(text, params.text("parse_mode"), params.json("entities"), emu.lookup_user)


def check_text_length(formatted: Formatted) -> None:
    """Check a message text after parsing, as Telegram does when sending.

    Raises:
        ApiError: 400 when it is empty or longer than 4096 characters.
    """
    if not formatted.text:
        raise ApiError(400, "Bad Request: message text is empty")
    if len(formatted.text) > MAX_TEXT_LENGTH:
        raise ApiError(400, "Bad Request: message is too long")


def caption_arg(emu: Emulator, params: Params) -> Formatted:
    """Return the formatted caption (empty when absent).

    Raises:
        ApiError: 400 for markup that cannot be parsed or a caption over 1024 characters.
    """
    caption = params.text("caption") or ""
    formatted = format_text(
        caption, params.text("parse_mode"), params.json("caption_entities"), emu.lookup_user
    )
    if len(formatted.text) > MAX_CAPTION_LENGTH:
        raise ApiError(400, "Bad Request: message caption is too long")
    return formatted


def markup_arg(params: Params) -> JsonDict | None:
    """Return the inline keyboard of ``reply_markup`` (validating any markup kind).

    Raises:
        ApiError: 400 for invalid markup.
    """
    return parse_reply_markup(params.json("reply_markup", "reply keyboard markup"))


def reply_arg(emu: Emulator, params: Params, chat: Chat) -> int | None:
    """Return the id of the message to reply to, from ``reply_parameters``.

    The older ``reply_to_message_id`` and ``allow_sending_without_reply`` also work.

    Raises:
        ApiError: 400 when the message is missing and a reply is required.
    """
    reply = params.json("reply_parameters", "reply parameters")
    allow_missing = params.flag("allow_sending_without_reply")
    if isinstance(reply, dict):
        message_id = reply.get("message_id")
        allow_missing = bool(reply.get("allow_sending_without_reply", allow_missing))
        other_chat = reply.get("chat_id")
        if other_chat is not None and str(other_chat) != str(chat.id):
            raise ApiError(400, "Bad Request: message to be replied not found")
    elif reply is not None:
        raise ApiError(400, "Bad Request: can't parse reply parameters JSON object")
    else:
        message_id = params.integer("reply_to_message_id") or None
    if not isinstance(message_id, int) or isinstance(message_id, bool):
        return None
    if emu.world.find_message(chat.id, message_id) is not None:
        return message_id
    if allow_missing:
        return None
    raise ApiError(400, "Bad Request: message to be replied not found")
