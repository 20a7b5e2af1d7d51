"""Translation between python-telegram-bot's types and errors and the project's own."""

from __future__ import annotations

import datetime as dt
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import telegram
import telegram.error as tg_error
from telegram.constants import ChatMemberStatus, ChatType, MessageEntityType
from telegram.warnings import PTBDeprecationWarning

from bot.errors import BadRequest, Blocked, ConfigError, RetryAfter, TransientError
from bot.messaging import FileRef, Incoming, Keyboard, Kind, User
from bot.telegram._common import split_command
from bot.telegram._webhook import MalformedUpdate

# Opt in to PTB's future timedelta attributes (read at call time): reading
# ``RetryAfter.retry_after`` as an int emits a deprecation warning, even inside PTB's own
# constructor, which breaks code run with warnings as errors. ``_retry_seconds`` handles both.
os.environ.setdefault("PTB_TIMEDELTA", "true")


def to_incoming(update: telegram.Update) -> Incoming | None:
    """Translate a PTB update from a private chat; return None for anything the bot ignores."""
    if update.callback_query is not None:
        return _from_callback(update.update_id, update.callback_query)
    if update.my_chat_member is not None:
        return _from_member(update.update_id, update.my_chat_member)
    if update.message is not None:
        return _from_message(update.update_id, update.message)
    return None


def read_update(data: dict[str, Any], bot: telegram.Bot) -> telegram.Update:
    """Return the PTB update a webhook body's JSON object stands for.

    Raises:
        MalformedUpdate: when PTB cannot read it as an Update.
    """
    try:
        return telegram.Update.de_json(data, bot)
    # The decoder runs on whatever was POSTed; any failure in it means "not an update".
    except Exception as exc:  # noqa: BLE001
        msg = f"not an Update ({type(exc).__name__})"
        raise MalformedUpdate(msg) from exc


def markup(buttons: Keyboard) -> telegram.InlineKeyboardMarkup | None:
    """Return the inline keyboard for ``buttons``, or None when there are none."""
    if not buttons:
        return None
    return telegram.InlineKeyboardMarkup(
        [
            [
                telegram.InlineKeyboardButton(b.text, url=b.url)
                if b.url
                else telegram.InlineKeyboardButton(b.text, callback_data=b.data)
                for b in row
            ]
            for row in buttons
        ]
    )


@contextmanager
def translated() -> Iterator[None]:
    """Turn PTB exceptions raised in the block into the project's DeliveryError tree."""
    try:
        yield
    except tg_error.Forbidden as exc:
        raise Blocked(exc.message) from exc
    except tg_error.RetryAfter as exc:
        raise RetryAfter(exc.message, _retry_seconds(exc)) from exc
    except (
        tg_error.BadRequest,
        tg_error.InvalidToken,
        tg_error.EndPointNotFound,
        tg_error.ChatMigrated,
    ) as exc:
        raise BadRequest(exc.message) from exc
    except tg_error.TelegramError as exc:  # NetworkError, TimedOut, 5xx, Conflict
        raise TransientError(exc.message) from exc


@contextmanager
def startup_errors() -> Iterator[None]:
    """Report a rejected token as a ConfigError and other failures as DeliveryErrors."""
    try:
        with translated():
            yield
    except BadRequest as exc:
        if isinstance(exc.__cause__, tg_error.InvalidToken):
            msg = "Telegram rejected the bot token"
            raise ConfigError(msg) from exc
        raise


def _retry_seconds(exc: tg_error.RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return float(value)


def _user(user: telegram.User) -> User:
    return User(
        id=user.id,
        first_name=user.first_name,
        last_name=user.last_name,
        username=user.username,
        language_code=user.language_code,
    )


def _from_message(update_id: int, message: telegram.Message) -> Incoming | None:
    if message.chat.type != ChatType.PRIVATE or message.from_user is None:
        return None
    chat_id, user = message.chat.id, _user(message.from_user)
    if message.text is not None:
        for entity in message.entities:
            if entity.offset == 0 and entity.type == MessageEntityType.BOT_COMMAND:
                name, args = split_command(message.parse_entity(entity), message.text)
                return Incoming(update_id, Kind.COMMAND, chat_id, user, message.text, name, args)
        return Incoming(update_id, Kind.TEXT, chat_id, user, text=message.text)
    caption = message.caption or ""
    if message.document is not None:
        doc = message.document
        ref = FileRef(doc.file_id, doc.file_name, doc.mime_type, doc.file_size)
        return Incoming(update_id, Kind.DOCUMENT, chat_id, user, text=caption, file=ref)
    if message.photo:
        big = max(message.photo, key=lambda p: (p.width * p.height, p.file_size or 0))
        ref = FileRef(big.file_id, None, "image/jpeg", big.file_size)
        return Incoming(update_id, Kind.PHOTO, chat_id, user, text=caption, file=ref)
    if message.sticker is not None:
        return Incoming(update_id, Kind.STICKER, chat_id, user)
    return Incoming(update_id, Kind.OTHER, chat_id, user, text=caption)


def _from_callback(update_id: int, query: telegram.CallbackQuery) -> Incoming | None:
    message = query.message
    if message is None or message.chat.type != ChatType.PRIVATE:
        return None
    return Incoming(
        update_id,
        Kind.CALLBACK,
        message.chat.id,
        _user(query.from_user),
        data=query.data,
        callback_id=query.id,
        message_id=message.message_id,
    )


def _from_member(update_id: int, change: telegram.ChatMemberUpdated) -> Incoming | None:
    if change.chat.type != ChatType.PRIVATE:
        return None
    status = change.new_chat_member.status
    if status == ChatMemberStatus.BANNED:
        kind = Kind.BLOCKED
    elif status == ChatMemberStatus.MEMBER:
        kind = Kind.UNBLOCKED
    else:
        return None
    return Incoming(update_id, kind, change.chat.id, _user(change.from_user))
