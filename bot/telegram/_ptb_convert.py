"""Translation between python-telegram-bot's updates, keyboards and errors and the project's own.

Updates are translated from their JSON by ``_convert``; here PTB hands that JSON over.
"""

from __future__ import annotations

import datetime as dt
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import telegram
import telegram.error as tg_error
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from bot.errors import BadRequest, Blocked, ConfigError, RetryAfter, TransientError
from bot.messaging import Incoming, Keyboard
from bot.telegram import _convert
from bot.telegram._convert import RawUpdates
from bot.telegram._webhook import MalformedUpdate

# Opt in to PTB's future timedelta attributes (read at call time): reading
# ``RetryAfter.retry_after`` as an int emits a deprecation warning, even inside PTB's own
# constructor, which breaks code run with warnings as errors. ``_retry_seconds`` handles both.
os.environ.setdefault("PTB_TIMEDELTA", "true")


def to_incoming(update: telegram.Update, raw: RawUpdates | None = None) -> Incoming | None:
    """Translate a PTB update from a private chat; return None for anything the bot ignores.

    Reads the JSON the update was decoded from when ``raw`` kept it, else PTB's dump of it.
    """
    data = raw.take(update.update_id) if raw is not None else None
    return _convert.to_incoming(update.to_dict() if data is None else data)


class UpdatesRequest(HTTPXRequest):
    """PTB's ``getUpdates`` connection (one, as PTB's default), keeping each update's JSON."""

    def __init__(self, raw: RawUpdates) -> None:
        super().__init__(connection_pool_size=1)
        self._raw = raw

    def parse_json_payload(self, payload: bytes) -> dict[str, Any]:  # type: ignore[override]
        """Decode an answer as PTB does, keeping the updates it holds."""
        answer = HTTPXRequest.parse_json_payload(payload)
        self._raw.keep_answer(answer)
        return answer


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


def reply_parameters(message_id: int | None) -> telegram.ReplyParameters | None:
    """Return a reply to ``message_id`` that is sent even when that message is gone."""
    if message_id is None:
        return None
    return telegram.ReplyParameters(message_id, allow_sending_without_reply=True)


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
