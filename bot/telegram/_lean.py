"""A lean ``sendMessage``: one pre-serialised JSON POST, reading back only what we need.

Sending a text is the hot path of a campaign (thousands a second on a paid
broadcast), and a framework's full round trip (request model, multipart form,
a validated ``Message`` with every nested object) costs several times the
request itself. This path posts the Bot API's own JSON and reads only
``message_id`` and ``chat.id`` on success, or ``error_code``, ``description`` and
``parameters`` on failure, mapping them to the project's DeliveryErrors the way
the framework adapters do. It shares the framework's aiohttp session, so it uses
the same keep-alive connection pool.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from bot.errors import BadRequest, Blocked, DeliveryError, RetryAfter, TransientError
from bot.messaging import Button, Keyboard, SentMessage
from bot.telegram._wire import WireError, WirePool

_HEADERS = {"Content-Type": "application/json"}
# Answers that mean the request itself is wrong (aiogram maps these to its BadRequest family).
_PERMANENT = frozenset({400, 401, 404, 413})


class ApiAnswer(Exception):  # noqa: N818 - the cause chained to a DeliveryError, not an error
    """Telegram's error answer, kept as the ``__cause__`` of the DeliveryError raised for it."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(f"{status}: {description}")
        self.status = status
        self.description = description


def keyboard_json(buttons: Keyboard) -> dict[str, Any]:
    """Return the ``reply_markup`` of an inline keyboard as Bot API JSON."""
    return {"inline_keyboard": [[_button(b) for b in row] for row in buttons]}


def _button(button: Button) -> dict[str, str | None]:
    if button.url:
        return {"text": button.text, "url": button.url}
    return {"text": button.text, "callback_data": button.data}


def text_payload(chat_id: int, text: str, buttons: Keyboard, *, paid_broadcast: bool) -> bytes:
    """Return the JSON body of a ``sendMessage`` in HTML parse mode."""
    payload: dict[str, Any] = {"chat_id": chat_id, "text": text, "parse_mode": "HTML"}
    if buttons:
        payload["reply_markup"] = keyboard_json(buttons)
    if paid_broadcast:
        payload["allow_paid_broadcast"] = True
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def read_answer(status: int, raw: bytes) -> dict[str, Any]:
    """Return an answer's ``result`` object, or raise the DeliveryError it stands for.

    Raises:
        DeliveryError: ``RetryAfter`` (429 or ``retry_after``), ``Blocked`` (403),
            ``BadRequest`` (400, 401, 404, 413, a migrated chat), else ``TransientError``.
    """
    try:
        answer = json.loads(raw)
    except ValueError as exc:
        msg = f"Failed to decode the answer (HTTP {status})"
        raise TransientError(msg) from exc
    if not isinstance(answer, dict):
        msg = f"Unexpected answer (HTTP {status})"
        raise TransientError(msg)
    if 200 <= status <= 226 and answer.get("ok"):  # noqa: PLR2004 - HTTP's success range
        result = answer.get("result")
        if isinstance(result, dict):
            return result
        msg = "The answer has no result object"
        raise TransientError(msg)
    raise _error(status, answer)


def _error(status: int, answer: dict[str, Any]) -> DeliveryError:
    description = str(answer.get("description") or f"HTTP {status}")
    cause = ApiAnswer(status, description)
    parameters = answer.get("parameters")
    error: DeliveryError
    if isinstance(parameters, dict) and parameters.get("retry_after"):
        error = RetryAfter(description, float(parameters["retry_after"]))
    elif isinstance(parameters, dict) and parameters.get("migrate_to_chat_id"):
        error = BadRequest(description)
    elif status == 403:  # noqa: PLR2004 - Forbidden
        error = Blocked(description)
    elif status in _PERMANENT:
        error = BadRequest(description)
    else:  # 5xx, 409 and anything unexpected may succeed later
        error = TransientError(description)
    error.__cause__ = cause
    return error


class LeanSender:
    """Send HTML texts by posting JSON through an aiohttp session."""

    def __init__(
        self,
        session: Callable[[], Awaitable[aiohttp.ClientSession]],
        url: str,
        timeout: float,
    ) -> None:
        self._session = session
        self._url = url
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def send_text(
        self, chat_id: int, text: str, buttons: Keyboard = (), *, paid_broadcast: bool = False
    ) -> SentMessage:
        """Send one message; raise a DeliveryError when Telegram or the network says no."""
        body = text_payload(chat_id, text, buttons, paid_broadcast=paid_broadcast)
        session = await self._session()
        try:
            async with session.post(
                self._url, data=body, headers=_HEADERS, timeout=self._timeout
            ) as response:
                status = response.status
                raw = await response.read()
        except TimeoutError as exc:
            msg = "Request timeout error"
            raise TransientError(msg) from exc
        except aiohttp.ClientError as exc:
            msg = f"{type(exc).__name__}: {exc}"
            raise TransientError(msg) from exc
        return _sent(read_answer(status, raw))


class WireSender:
    """Send HTML texts over a ``WirePool`` of its own: the broadcast path (see ``_wire``).

    Opened by the delivery engine for the life of a run loop and closed by it.
    """

    def __init__(self, url: str, *, limit: int, timeout: float) -> None:
        parts = urlsplit(url)
        self._pool = WirePool(f"{parts.scheme}://{parts.netloc}", limit=limit, timeout=timeout)
        self._head = self._pool.request_head(parts.path)

    async def send_text(
        self, chat_id: int, text: str, buttons: Keyboard = (), *, paid_broadcast: bool = False
    ) -> SentMessage:
        """Send one message; raise a DeliveryError when Telegram or the network says no."""
        body = text_payload(chat_id, text, buttons, paid_broadcast=paid_broadcast)
        try:
            status, raw = await self._pool.post(self._head, body)
        except TimeoutError as exc:
            msg = "Request timeout error"
            raise TransientError(msg) from exc
        except WireError as exc:
            raise TransientError(str(exc)) from exc
        return _sent(read_answer(status, raw))

    async def aclose(self) -> None:
        """Close the connections."""
        await self._pool.aclose()


def _sent(result: dict[str, Any]) -> SentMessage:
    try:
        return SentMessage(int(result["chat"]["id"]), int(result["message_id"]))
    except (KeyError, TypeError, ValueError) as exc:
        msg = "The answer has no message_id or chat id"
        raise TransientError(msg) from exc
