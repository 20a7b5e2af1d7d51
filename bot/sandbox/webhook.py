"""The webhook: its settings and the pusher that POSTs queued updates to it.

Updates are delivered as JSON with the ``X-Telegram-Bot-Api-Secret-Token`` header
when a secret is set, up to ``max_connections`` requests at once and one per chat
at a time, as the Bot API server does (its per-chat delivery queues): a chat's
updates arrive in order, different chats' concurrently. A non-2xx answer or a
network error is recorded as ``last_error_*`` and the same update is delivered
again with a backoff from 0.1 s doubling to 5 s, its chat's later updates waiting
behind it, so nothing is lost or reordered within a chat. A 2xx answer may carry a
Bot API call (``method`` plus parameters, as JSON, form or multipart); it is
executed and its result discarded, as Telegram does.

Deviations from Telegram: ``http://`` URLs are accepted on loopback hosts
(127.0.0.0/8, ::1, localhost), on which any port is allowed; no certificate is
checked; the first retry comes after 0.1 s rather than about a second.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email import policy
from email.parser import BytesParser
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

import aiohttp

from bot.sandbox.errors import ApiError
from bot.sandbox.params import Params, Upload

if TYPE_CHECKING:
    from bot.sandbox.emulator import Emulator
    from bot.sandbox.updates import Update

logger = logging.getLogger(__name__)

JsonDict = dict[str, Any]
Executor = Callable[[str, Params], Awaitable[object]]

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
MIN_BACKOFF = 0.1
MAX_BACKOFF = 5.0
DELIVERY_TIMEOUT = 30.0
# setWebhook's max_connections is 1-100.
MAX_CONNECTIONS = 100
# How many of the oldest pending updates are looked through for ones that may go now
# (the Bot API server keeps twice max_connections loaded).
LOOKAHEAD_PER_CONNECTION = 2
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
_TELEGRAM_PORTS = frozenset({80, 88, 443, 8443})


@dataclass(slots=True)
class WebhookSettings:
    """The webhook as set with setWebhook, plus the last delivery error."""

    url: str = ""
    secret_token: str | None = None
    max_connections: int = 40
    has_custom_certificate: bool = False
    ip_address: str | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None

    def info(self, pending: int, allowed_updates: list[str] | None) -> JsonDict:
        """Return the WebhookInfo object."""
        result: JsonDict = {
            "url": self.url,
            "has_custom_certificate": self.has_custom_certificate,
            "pending_update_count": pending,
        }
        if not self.url:
            return result
        if self.ip_address:
            result["ip_address"] = self.ip_address
        if self.last_error_date is not None:
            result["last_error_date"] = self.last_error_date
            result["last_error_message"] = self.last_error_message
        result["max_connections"] = self.max_connections
        if allowed_updates is not None:
            result["allowed_updates"] = allowed_updates
        return result


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validate_webhook_url(url: str) -> str:
    """Return the URL if a webhook may be set to it.

    Raises:
        ApiError: 400 with Telegram's "bad webhook" descriptions.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme not in ("http", "https") or not host:
        raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
    if _is_loopback(host):
        return url
    if parts.scheme != "https":
        raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
    if port is not None and port not in _TELEGRAM_PORTS:
        raise ApiError(
            400,
            "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443",
        )
    return url


def validate_secret(secret: str | None) -> str | None:
    """Return the secret token (None when empty).

    Raises:
        ApiError: 400 when it has characters other than A-Z a-z 0-9 _ - or is too long.
    """
    if not secret:
        return None
    if _SECRET.fullmatch(secret) is None:
        raise ApiError(400, "Bad Request: secret token contains unallowed characters")
    return secret


def parse_answer(content_type: str, body: bytes) -> Params | None:
    """Return the parameters of a webhook answer body, or None when it has none."""
    mime = content_type.partition(";")[0].strip().lower()
    values: dict[str, object] = {}
    files: dict[str, Upload] = {}
    if mime == "application/json":
        decoded = json.loads(body)
        if not isinstance(decoded, dict):
            return None
        values.update((k, v) for k, v in decoded.items() if v is not None)
    elif mime == "application/x-www-form-urlencoded":
        values.update(parse_qsl(body.decode("utf-8", "replace")))
    elif mime == "multipart/form-data":
        head = f"Content-Type: {content_type}\r\n\r\n".encode()
        message = BytesParser(policy=policy.HTTP).parsebytes(head + body)
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            if not isinstance(name, str) or not isinstance(payload, bytes):
                continue
            filename = part.get_filename()
            if filename is None:
                values[name] = payload.decode(part.get_content_charset() or "utf-8", "replace")
            else:
                files[name] = Upload(filename, part.get_content_type(), payload)
    else:
        return None
    return Params(values, files)


class WebhookPusher:
    """Deliver queued updates to the webhook while one is set, as the Bot API server does.

    Up to ``max_connections`` requests are on the wire at once, one per chat at most:
    a chat's next update goes only after the webhook answered 2xx for the one before
    (the Bot API server's per-chat delivery queues), so each chat's updates arrive in
    order while different chats' updates arrive concurrently. An update answered
    otherwise (or not at all) is delivered again after its own backoff, and the
    chat's later updates wait for it.
    """

    def __init__(self, emu: Emulator, execute: Executor) -> None:
        self._emu = emu
        self._execute = execute
        # update_id → (its chat's queue key, the delivery on the wire)
        self._flying: dict[int, tuple[object, asyncio.Task[None]]] = {}
        # update_id → (not before, in monotonic seconds; the backoff after that)
        self._retry: dict[int, tuple[float, float]] = {}
        self._settings: WebhookSettings | None = None

    async def run(self) -> None:
        """Deliver updates until cancelled."""
        timeout = aiohttp.ClientTimeout(total=DELIVERY_TIMEOUT)
        connector = aiohttp.TCPConnector(limit=MAX_CONNECTIONS)
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
            try:
                while True:
                    wait = self._start(session)
                    await self._emu.updates.wait_changed(wait)
            finally:
                tasks = [task for _, task in self._flying.values()]
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

    def _start(self, session: aiohttp.ClientSession) -> float | None:
        """Put every update that may go now on the wire; return when to look again (or None)."""
        settings = self._emu.webhook
        if settings is not self._settings:
            # A new or changed webhook is tried at once, as after a success.
            self._settings = settings
            self._retry.clear()
        if not settings.url:
            return None
        now = time.monotonic()
        room = settings.max_connections - len(self._flying)
        seen = {key for key, _ in self._flying.values()}
        soonest: float | None = None
        lookahead = settings.max_connections * LOOKAHEAD_PER_CONNECTION
        for update in self._emu.updates.peek(lookahead):
            if room <= 0:
                break
            key = queue_key(update)
            if key in seen:
                continue
            seen.add(key)
            retry = self._retry.get(update.update_id)
            if retry is not None and retry[0] > now:
                soonest = retry[0] if soonest is None else min(soonest, retry[0])
                continue
            task = asyncio.create_task(self._push(session, settings, update))
            self._flying[update.update_id] = (key, task)
            room -= 1
        return None if soonest is None else max(soonest - now, 0.0)

    async def _push(
        self, session: aiohttp.ClientSession, settings: WebhookSettings, update: Update
    ) -> None:
        try:
            delivered = await self._deliver(session, settings, update)
        finally:
            self._flying.pop(update.update_id, None)
            self._emu.updates.wake()
        if delivered:
            self._retry.pop(update.update_id, None)
            self._emu.updates.remove(update.update_id)
            return
        backoff = self._retry.get(update.update_id, (0.0, MIN_BACKOFF))[1]
        self._retry[update.update_id] = (time.monotonic() + backoff, min(backoff * 2, MAX_BACKOFF))

    async def _deliver(
        self, session: aiohttp.ClientSession, settings: WebhookSettings, update: Update
    ) -> bool:
        headers = {"Content-Type": "application/json"}
        if settings.secret_token:
            headers[SECRET_HEADER] = settings.secret_token
        body = json.dumps(update.to_json(), ensure_ascii=False).encode()
        try:
            async with session.post(settings.url, data=body, headers=headers) as response:
                answer = await response.read()
                if 200 <= response.status < 300:
                    await self._run_answer(response.headers.get("Content-Type", ""), answer)
                    return True
                error = f"Wrong response from the webhook: {response.status} {response.reason}"
        except TimeoutError:
            error = "Read timeout expired"
        except aiohttp.ClientConnectorError as exc:
            error = exc.os_error.strerror or "Connection failed"
        except aiohttp.ClientError as exc:
            error = f"Connection error: {exc}"
        settings.last_error_date = int(time.time())
        settings.last_error_message = error
        logger.info("Webhook delivery of update %d failed: %s", update.update_id, error)
        return False

    async def _run_answer(self, content_type: str, body: bytes) -> None:
        if not body.strip():
            return
        try:
            params = parse_answer(content_type, body)
        except ValueError:
            return
        method = params.text("method") if params is not None else None
        if params is None or not method:
            return
        try:
            await self._execute(method, params)
        except ApiError as exc:
            logger.info("Method %s from a webhook answer failed: %s", method, exc.description)
        except Exception:
            logger.exception("Method %s from a webhook answer crashed", method)


def queue_key(update: Update) -> object:
    """Return the queue an update is delivered in: its chat's, else its sender's, else its own."""
    payload = update.payload
    for holder in (payload, payload.get("message")):
        chat = holder.get("chat") if isinstance(holder, dict) else None
        if isinstance(chat, dict) and isinstance(chat.get("id"), int):
            return chat["id"]
    sender = payload.get("from")
    if isinstance(sender, dict) and isinstance(sender.get("id"), int):
        return sender["id"]
    return ("update", update.update_id)
