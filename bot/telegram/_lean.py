"""A lean ``sendMessage``: one pre-serialised JSON POST, reading back only what we need.

Sending a text is the hot path of a campaign (thousands a second on a paid
broadcast), and a framework's full round trip (request model, multipart form,
a validated ``Message`` with every nested object) costs several times the
request itself. This path posts the Bot API's own JSON through aiohttp and reads
only ``message_id`` on success, or ``error_code``, ``description`` and
``parameters`` on failure, mapping them to the project's DeliveryErrors the way
the framework adapters do. ``LeanSender`` shares the aiogram adapter's session;
``BroadcastSender`` (campaigns) has a session and connection pool of its own.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from yarl import URL

from bot.errors import BadRequest, Blocked, DeliveryError, RetryAfter, TransientError
from bot.messaging import Keyboard, SentMessage
from bot.metrics import METRICS
from bot.telegram._common import keyboard_json, reply_json

_HEADERS = {"Content-Type": "application/json"}
# aiohttp would add Accept, Accept-Encoding and User-Agent to every request; none is needed.
_SKIP_HEADERS = ("Accept", "Accept-Encoding", "User-Agent")
# Idle connections older than this are closed rather than reused (servers drop idle
# keep-alive connections after a while; nginx's default is 75 s).
IDLE_SECONDS = 20.0
# The start of a successful answer: the new message's id comes first in Telegram's JSON.
_SENT_PREFIX = re.compile(
    rb'\{\s*"ok"\s*:\s*true\s*,\s*"result"\s*:\s*\{\s*"message_id"\s*:\s*(\d+)\s*,'
)
# Answers that mean the request itself is wrong (aiogram maps these to its BadRequest family).
_PERMANENT = frozenset({400, 401, 404, 413})


class ApiAnswer(Exception):  # noqa: N818 - the cause chained to a DeliveryError, not an error
    """Telegram's error answer, kept as the ``__cause__`` of the DeliveryError raised for it."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(f"{status}: {description}")
        self.status = status
        self.description = description


def text_payload(
    chat_id: int,
    text: str,
    buttons: Keyboard,
    *,
    paid_broadcast: bool,
    reply_to_message_id: int | None = None,
) -> bytes:
    """Return the JSON body of a ``sendMessage`` in HTML parse mode.

    A reply is sent even when the message it replies to is gone.
    """
    payload: dict[str, Any] = {"chat_id": chat_id, "text": text, "parse_mode": "HTML"}
    if buttons:
        payload["reply_markup"] = keyboard_json(buttons)
    if paid_broadcast:
        payload["allow_paid_broadcast"] = True
    if reply_to_message_id is not None:
        payload["reply_parameters"] = reply_json(reply_to_message_id)
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
    METRICS.telegram_error(error, status)
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

    async def post(self, chat_id: int, body: bytes) -> SentMessage:
        """Post a ``sendMessage`` body (``text_payload``) to ``chat_id``; see ``post_text``."""
        return await post_text(await self._session(), self._url, self._timeout, chat_id, body)


class BroadcastSender:
    """Send HTML texts over an aiohttp session of its own: the broadcast path.

    One ``ClientSession`` with up to ``limit`` keep-alive connections, no cookie jar, no
    tracing and no automatic headers beyond what the Bot API needs. Opened by the
    delivery engine for the life of a run loop and closed by it.
    """

    def __init__(self, url: str, *, limit: int, timeout: float) -> None:
        self._url = URL(url)
        self._limit = limit
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    def _client(self) -> aiohttp.ClientSession:
        # Made on first use: the engine opens its broadcaster outside any request, and a
        # session belongs to the event loop it was made on.
        if self._session is None:
            if self._closed:
                msg = "the broadcaster is closed"
                raise TransientError(msg)
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=self._limit, keepalive_timeout=IDLE_SECONDS, ttl_dns_cache=300
                ),
                cookie_jar=aiohttp.DummyCookieJar(),
                skip_auto_headers=_SKIP_HEADERS,
                auto_decompress=False,
                timeout=self._timeout,
            )
        return self._session

    async def send_text(
        self, chat_id: int, text: str, buttons: Keyboard = (), *, paid_broadcast: bool = False
    ) -> SentMessage:
        """Send one message; raise a DeliveryError when Telegram or the network says no."""
        body = text_payload(chat_id, text, buttons, paid_broadcast=paid_broadcast)
        return await post_text(self._client(), self._url, self._timeout, chat_id, body)

    async def aclose(self) -> None:
        """Close the connections; later sends fail."""
        self._closed = True
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()


async def post_text(
    session: aiohttp.ClientSession,
    url: str | URL,
    limits: aiohttp.ClientTimeout,
    chat_id: int,
    body: bytes,
) -> SentMessage:
    """Post a ``sendMessage`` body to ``chat_id``; return what Telegram answered.

    Raises:
        DeliveryError: what the answer stands for (see ``read_sent``), or
            ``TransientError`` when the network failed or the answer took too long.
    """
    try:
        async with session.post(url, data=body, headers=_HEADERS, timeout=limits) as response:
            status = response.status
            raw = await response.read()
    except TimeoutError as exc:
        msg = "Request timeout error"
        raise TransientError(msg) from exc
    except aiohttp.ClientError as exc:
        msg = f"{type(exc).__name__}: {exc}"
        raise TransientError(msg) from exc
    return read_sent(chat_id, status, raw)


def read_sent(chat_id: int, status: int, raw: bytes) -> SentMessage:
    """Return what a ``sendMessage`` to ``chat_id`` answered, or raise its DeliveryError.

    Telegram's success answer starts with the new message's id; that prefix is read
    without decoding the rest (the message echoed back with every entity). Anything
    else, errors included, goes through ``read_answer``.
    """
    if status == 200:  # noqa: PLR2004 - HTTP OK
        found = _SENT_PREFIX.match(raw)
        if found is not None:
            return SentMessage(chat_id, int(found[1]))
    return _sent(read_answer(status, raw))


def _sent(result: dict[str, Any]) -> SentMessage:
    try:
        return SentMessage(int(result["chat"]["id"]), int(result["message_id"]))
    except (KeyError, TypeError, ValueError) as exc:
        msg = "The answer has no message_id or chat id"
        raise TransientError(msg) from exc
