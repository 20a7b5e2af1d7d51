"""The webhook: its settings and the pusher that POSTs queued updates to it.

Updates are delivered in order, one request at a time, as JSON with the
``X-Telegram-Bot-Api-Secret-Token`` header when a secret is set. A non-2xx answer
or a network error is recorded as ``last_error_*`` and the same update is retried
with a backoff from 0.1 s doubling to 5 s, so nothing is lost or reordered. A 2xx
answer may carry a Bot API call (``method`` plus parameters, as JSON, form or
multipart); it is executed and its result discarded, as Telegram does.

Deviations from Telegram: ``http://`` URLs are accepted on loopback hosts
(127.0.0.0/8, ::1, localhost), on which any port is allowed; no certificate is
checked; ``max_connections`` is stored but delivery is always sequential.
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
    """Deliver queued updates to the webhook while one is set."""

    def __init__(self, emu: Emulator, execute: Executor) -> None:
        self._emu = emu
        self._execute = execute

    async def run(self) -> None:
        """Deliver updates until cancelled."""
        emu = self._emu
        backoff = MIN_BACKOFF
        timeout = aiohttp.ClientTimeout(total=DELIVERY_TIMEOUT)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while True:
                settings = emu.webhook
                update = emu.updates.first() if settings.url else None
                if update is None:
                    backoff = MIN_BACKOFF
                    await emu.updates.wait_changed()
                    continue
                emu.webhook_changed.clear()
                if await self._deliver(session, settings, update):
                    backoff = MIN_BACKOFF
                    if emu.updates.first() is update:
                        emu.updates.confirm(update.update_id + 1)
                    continue
                try:
                    await asyncio.wait_for(emu.webhook_changed.wait(), backoff)
                    backoff = MIN_BACKOFF
                except TimeoutError:
                    backoff = min(backoff * 2, MAX_BACKOFF)

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
