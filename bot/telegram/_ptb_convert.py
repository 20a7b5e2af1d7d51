"""Translation between python-telegram-bot's updates, keyboards and errors and the project's own.

Updates are translated from their JSON by ``_convert``; here PTB hands that JSON over.
"""

from __future__ import annotations

import datetime as dt
import os
import warnings
from functools import partial
from typing import Any

import telegram
import telegram.error as tg_error
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from bot.messaging import Incoming
from bot.telegram import _convert
from bot.telegram._common import ErrorKinds, Framework, translating
from bot.telegram._convert import RawUpdates
from bot.telegram._webhook import MalformedUpdate

# Opt in to PTB's future timedelta attributes (read at call time): reading
# ``RetryAfter.retry_after`` as an int emits a deprecation warning, even inside PTB's own
# constructor, which breaks code run with warnings as errors. ``_retry_seconds`` handles both.
os.environ.setdefault("PTB_TIMEDELTA", "true")

# TelegramError's other subclasses (NetworkError, TimedOut, 5xx, Conflict) may succeed later.
ERRORS = ErrorKinds(
    api=tg_error.TelegramError,
    blocked=tg_error.Forbidden,
    retry_after=tg_error.RetryAfter,
    permanent=(
        tg_error.BadRequest,
        tg_error.InvalidToken,
        tg_error.EndPointNotFound,
        tg_error.ChatMigrated,
    ),
)


def to_incoming(update: telegram.Update, raw: RawUpdates | None = None) -> Incoming | None:
    """Translate a PTB update from a private chat; return None for anything the bot ignores.

    Reads the JSON the update was decoded from when ``raw`` kept it, else PTB's dump of it.
    """
    return _convert.from_update(update.update_id, raw, update.to_dict)


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


def _retry_seconds(exc: tg_error.RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return float(value)


FRAMEWORK = Framework(
    "python-telegram-bot",
    # Turns PTB exceptions raised in it into the project's DeliveryError tree.
    partial(translating, ERRORS, _retry_seconds),
    telegram.InlineKeyboardMarkup.de_json,
    telegram.ReplyParameters.de_json,
    lambda content, filename: telegram.InputFile(content, filename=filename),
    (tg_error.InvalidToken,),
)
