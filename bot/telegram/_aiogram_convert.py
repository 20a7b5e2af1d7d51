"""Translation between aiogram's types and errors and the project's own."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import aiohttp
import pydantic
from aiogram import Bot, types
from aiogram.enums import ChatMemberStatus, ChatType, MessageEntityType
from aiogram.exceptions import (
    AiogramError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)

from bot.errors import BadRequest, Blocked, ConfigError, RetryAfter, TransientError
from bot.messaging import FileRef, Incoming, Keyboard, Kind, User
from bot.telegram._common import split_command
from bot.telegram._webhook import MalformedUpdate


def to_incoming(update: types.Update) -> Incoming | None:
    """Translate an aiogram update from a private chat; return None for anything ignored."""
    if update.callback_query is not None:
        return _from_callback(update.update_id, update.callback_query)
    if update.my_chat_member is not None:
        return _from_member(update.update_id, update.my_chat_member)
    if update.message is not None:
        return _from_message(update.update_id, update.message)
    return None


def read_update(data: dict[str, Any], bot: Bot) -> types.Update:
    """Return the aiogram update a webhook body's JSON object stands for.

    Raises:
        MalformedUpdate: when aiogram's models reject it.
    """
    try:
        return types.Update.model_validate(data, context={"bot": bot})
    except pydantic.ValidationError as exc:
        msg = f"not an Update ({exc.error_count()} fields wrong)"
        raise MalformedUpdate(msg) from exc


def markup(buttons: Keyboard) -> types.InlineKeyboardMarkup | None:
    """Return the inline keyboard for ``buttons``, or None when there are none."""
    if not buttons:
        return None
    return types.InlineKeyboardMarkup(
        inline_keyboard=[
            [
                types.InlineKeyboardButton(text=b.text, url=b.url)
                if b.url
                else types.InlineKeyboardButton(text=b.text, callback_data=b.data)
                for b in row
            ]
            for row in buttons
        ]
    )


@contextmanager
def translated() -> Iterator[None]:
    """Turn aiogram and aiohttp exceptions raised in the block into DeliveryErrors."""
    try:
        yield
    except TelegramForbiddenError as exc:
        raise Blocked(exc.message) from exc
    except TelegramRetryAfter as exc:
        raise RetryAfter(exc.message, float(exc.retry_after)) from exc
    except (
        TelegramBadRequest,
        TelegramNotFound,
        TelegramUnauthorizedError,
        TelegramMigrateToChat,
        TelegramEntityTooLarge,
    ) as exc:
        raise BadRequest(exc.message) from exc
    except TelegramAPIError as exc:  # TelegramServerError, RestartingTelegram, network, 409
        raise TransientError(exc.message) from exc
    except AiogramError as exc:  # ClientDecodeError: a garbled answer
        raise TransientError(str(exc)) from exc
    except aiohttp.ClientResponseError as exc:  # file downloads
        msg = f"{exc.status} {exc.message}"
        if 400 <= exc.status < 500:
            raise BadRequest(msg) from exc
        raise TransientError(msg) from exc
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise TransientError(type(exc).__name__) from exc


@contextmanager
def startup_errors() -> Iterator[None]:
    """Report a rejected token as a ConfigError and other failures as DeliveryErrors."""
    try:
        with translated():
            yield
    except BadRequest as exc:
        if isinstance(exc.__cause__, TelegramUnauthorizedError | TelegramNotFound):
            msg = "Telegram rejected the bot token"
            raise ConfigError(msg) from exc
        raise


def _user(user: types.User) -> User:
    return User(
        id=user.id,
        first_name=user.first_name,
        last_name=user.last_name,
        username=user.username,
        language_code=user.language_code,
    )


def _from_message(update_id: int, message: types.Message) -> Incoming | None:
    if message.chat.type != ChatType.PRIVATE or message.from_user is None:
        return None
    chat_id, user = message.chat.id, _user(message.from_user)
    if message.text is not None:
        for entity in message.entities or ():
            if entity.offset == 0 and entity.type == MessageEntityType.BOT_COMMAND:
                name, args = split_command(entity.extract_from(message.text), message.text)
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


def _from_callback(update_id: int, query: types.CallbackQuery) -> Incoming | None:
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


def _from_member(update_id: int, change: types.ChatMemberUpdated) -> Incoming | None:
    if change.chat.type != ChatType.PRIVATE:
        return None
    status = change.new_chat_member.status
    if status == ChatMemberStatus.KICKED:
        kind = Kind.BLOCKED
    elif status == ChatMemberStatus.MEMBER:
        kind = Kind.UNBLOCKED
    else:
        return None
    return Incoming(update_id, kind, change.chat.id, _user(change.from_user))
