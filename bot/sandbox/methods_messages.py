"""Bot API methods on text messages: send, edit, delete, chat actions and callback answers."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from bot.sandbox.arguments import (
    caption_arg,
    chat_id_arg,
    check_text_length,
    markup_arg,
    message_id_arg,
    reply_arg,
    text_arg,
)
from bot.sandbox.errors import ApiError, chat_not_found
from bot.sandbox.registry import api_method
from bot.sandbox.views import api_message

if TYPE_CHECKING:
    from bot.sandbox.emulator import Emulator
    from bot.sandbox.params import JsonDict, Params
    from bot.sandbox.state import Message

CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
MAX_CALLBACK_ANSWER = 200
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)


@api_method("sendMessage", sends_message=True)
async def send_message(emu: Emulator, params: Params) -> object:
    """Send a text message to a user."""
    chat_id = chat_id_arg(params)
    formatted = text_arg(emu, params)
    markup = markup_arg(params)
    chat = emu.writable_chat(chat_id)
    check_text_length(formatted)
    reply_to = reply_arg(emu, params, chat)
    parse_mode = params.text("parse_mode") or None
    message = emu.world.add_message(
        chat,
        True,
        text=formatted.text,
        entities=formatted.entities,
        source=params.text("text") if parse_mode else None,
        parse_mode=parse_mode,
        reply_markup=markup,
        reply_to=reply_to,
        protected=params.flag("protect_content"),
    )
    return api_message(emu, message)


def _message_to_edit(emu: Emulator, params: Params) -> Message:
    if params.text("inline_message_id") and params.raw("chat_id") is None:
        raise ApiError(400, "Bad Request: MESSAGE_ID_INVALID")
    chat_id = chat_id_arg(params)
    message_id = message_id_arg(params)
    emu.writable_chat(chat_id)
    message = emu.world.find_message(chat_id, message_id)
    if message is None:
        raise ApiError(400, "Bad Request: message to edit not found")
    if not message.from_bot:
        raise ApiError(400, "Bad Request: message can't be edited")
    return message


def _apply_edit(
    emu: Emulator,
    message: Message,
    text: str,
    entities: list[JsonDict],
    markup: JsonDict | None,
    params: Params,
) -> object:
    new_text: str | None = text if message.media is None else text or None
    if (
        message.text == new_text
        and message.entities == entities
        and message.reply_markup == markup
    ):
        raise ApiError(400, NOT_MODIFIED)
    parse_mode = params.text("parse_mode") or None
    message.text, message.entities, message.reply_markup = new_text, entities, markup
    source_name = "caption" if message.media is not None else "text"
    message.source = params.text(source_name) if parse_mode else None
    message.parse_mode = parse_mode
    message.edit_date = int(time.time())
    emu.world.touch(message)
    return api_message(emu, message)


@api_method("editMessageText")
async def edit_message_text(emu: Emulator, params: Params) -> object:
    """Replace the text (and inline keyboard) of a message the bot sent."""
    formatted = text_arg(emu, params)
    markup = markup_arg(params)
    message = _message_to_edit(emu, params)
    if message.media is not None:
        raise ApiError(400, "Bad Request: there is no text in the message to edit")
    check_text_length(formatted)
    return _apply_edit(emu, message, formatted.text, formatted.entities, markup, params)


@api_method("editMessageCaption")
async def edit_message_caption(emu: Emulator, params: Params) -> object:
    """Replace the caption (and inline keyboard) of a media message the bot sent."""
    formatted = caption_arg(emu, params)
    markup = markup_arg(params)
    message = _message_to_edit(emu, params)
    if message.media is None:
        raise ApiError(400, "Bad Request: there is no caption in the message to edit")
    return _apply_edit(emu, message, formatted.text, formatted.entities, markup, params)


@api_method("editMessageReplyMarkup")
async def edit_message_reply_markup(emu: Emulator, params: Params) -> object:
    """Replace (or, without reply_markup, remove) the inline keyboard of a message."""
    markup = markup_arg(params)
    message = _message_to_edit(emu, params)
    if message.reply_markup == markup:
        raise ApiError(400, NOT_MODIFIED)
    message.reply_markup = markup
    message.edit_date = int(time.time())
    emu.world.touch(message)
    return api_message(emu, message)


def _delete(emu: Emulator, chat_id: int, message_id: int) -> bool:
    message = emu.world.find_message(chat_id, message_id)
    if message is None:
        return False
    message.deleted = True
    emu.world.touch(message)
    return True


@api_method("deleteMessage")
async def delete_message(emu: Emulator, params: Params) -> object:
    """Delete a message from the private chat (the user's or the bot's)."""
    chat_id = chat_id_arg(params)
    message_id = message_id_arg(params)
    if chat_id not in emu.world.chats:
        raise chat_not_found()
    if not _delete(emu, chat_id, message_id):
        raise ApiError(400, "Bad Request: message to delete not found")
    return True


@api_method("deleteMessages")
async def delete_messages(emu: Emulator, params: Params) -> object:
    """Delete several messages; ids that do not exist are skipped."""
    chat_id = chat_id_arg(params)
    ids = params.json("message_ids")
    if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
        raise ApiError(400, "Bad Request: message identifiers are not specified")
    if chat_id not in emu.world.chats:
        raise chat_not_found()
    for message_id in ids:
        if isinstance(message_id, int):
            _delete(emu, chat_id, message_id)
    return True


@api_method("sendChatAction")
async def send_chat_action(emu: Emulator, params: Params) -> object:
    """Show a chat action such as "typing" (nothing is stored)."""
    chat_id = chat_id_arg(params)
    action = params.text("action")
    if not action:
        raise ApiError(400, "Bad Request: action is empty")
    if action not in CHAT_ACTIONS:
        raise ApiError(400, "Bad Request: wrong parameter action in request")
    emu.writable_chat(chat_id)
    return True


@api_method("answerCallbackQuery")
async def answer_callback_query(emu: Emulator, params: Params) -> object:
    """Answer a callback query once, optionally with a toast or an alert."""
    text = params.text("text") or ""
    if len(text) > MAX_CALLBACK_ANSWER:
        raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
    emu.answer_callback(
        params.text("callback_query_id") or "",
        {
            "text": text or None,
            "show_alert": params.flag("show_alert"),
            "url": params.text("url"),
            "cache_time": params.integer("cache_time"),
        },
    )
    return True
