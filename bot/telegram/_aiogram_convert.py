"""Translation between aiogram's updates, keyboards and errors and the project's own.

Updates are translated from their JSON by ``_convert``; here aiogram hands that JSON over.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# isort: off
# First, before aiogram: its models are imported with their schemas built on first use.
from bot.telegram import _aiogram_models  # noqa: F401
# isort: on

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

from bot.errors import BadRequest, TransientError
from bot.messaging import Incoming
from bot.telegram import _convert
from bot.telegram._common import ErrorKinds, Framework, translating
from bot.telegram._convert import RawUpdates
from bot.telegram._webhook import MalformedUpdate

# TelegramAPIError's other subclasses (TelegramServerError, RestartingTelegram, network,
# 409) may succeed later.
ERRORS = ErrorKinds(
    api=TelegramAPIError,
    blocked=TelegramForbiddenError,
    retry_after=TelegramRetryAfter,
    permanent=(
        TelegramBadRequest,
        TelegramNotFound,
        TelegramUnauthorizedError,
        TelegramMigrateToChat,
        TelegramEntityTooLarge,
    ),
)


def to_incoming(update: types.Update, raw: RawUpdates | None = None) -> Incoming | None:
    """Translate an aiogram update from a private chat; return None for anything ignored.

    Reads the JSON the update was decoded from when ``raw`` kept it, else aiogram's dump of it.
    """
    return _convert.from_update(update.update_id, raw, lambda: update.model_dump(by_alias=True))


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


@contextmanager
def translated() -> Iterator[None]:
    """Turn aiogram and aiohttp exceptions raised in the block into DeliveryErrors."""
    try:
        with translating(ERRORS, lambda exc: float(exc.retry_after)):
            yield
    except AiogramError as exc:  # ClientDecodeError: a garbled answer
        raise TransientError(str(exc)) from exc
    except aiohttp.ClientResponseError as exc:  # file downloads
        msg = f"{exc.status} {exc.message}"
        if 400 <= exc.status < 500:
            raise BadRequest(msg) from exc
        raise TransientError(msg) from exc
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise TransientError(type(exc).__name__) from exc


FRAMEWORK = Framework(
    "aiogram",
    translated,
    types.InlineKeyboardMarkup.model_validate,
    types.ReplyParameters.model_validate,
    lambda content, filename: types.BufferedInputFile(content, filename=filename),
    (TelegramUnauthorizedError, TelegramNotFound),
)
