"""Translation between aiogram's updates, keyboards and errors and the project's own.

Updates are translated from their JSON by ``_convert``; here aiogram hands that JSON over.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import aiohttp
import pydantic
from aiogram import Bot, types
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
from bot.messaging import Incoming, Keyboard
from bot.telegram import _convert
from bot.telegram._convert import RawUpdates
from bot.telegram._webhook import MalformedUpdate


def to_incoming(update: types.Update, raw: RawUpdates | None = None) -> Incoming | None:
    """Translate an aiogram update from a private chat; return None for anything ignored.

    Reads the JSON the update was decoded from when ``raw`` kept it, else aiogram's dump of it.
    """
    data = raw.take(update.update_id) if raw is not None else None
    return _convert.to_incoming(update.model_dump(by_alias=True) if data is None else data)


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


def reply_parameters(message_id: int | None) -> types.ReplyParameters | None:
    """Return a reply to ``message_id`` that is sent even when that message is gone."""
    if message_id is None:
        return None
    return types.ReplyParameters(message_id=message_id, allow_sending_without_reply=True)


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
