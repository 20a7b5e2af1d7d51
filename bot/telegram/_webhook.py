"""The webhook endpoint both adapters serve: the secret checked, malformed bodies refused.

Telegram POSTs each update as a JSON object with an integer ``update_id``. A
request without the secret token set with ``setWebhook`` gets 401; a body that
is not such an object, or that the framework cannot read as an Update, gets 400
with one warning line (no traceback, and nothing of the body, which may hold
personal data). A valid update is handed to the adapter's ``feed`` and answered
with 200 once it is queued, handling happening later in the ChatSequencer; with
several workers once it is handled and committed, and with 503 when that failed
(a chat's turn not had within the lock timeout), so Telegram delivers it again.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
# Telegram's updates are a few kilobytes; the largest (long texts with entities) stay far below.
MAX_BODY = 1024 * 1024
SHUTDOWN_GRACE = 3.0

Feed = Callable[[dict[str, Any]], Awaitable[None]]


class MalformedUpdate(ValueError):  # noqa: N818 - named for what the body is
    """Raised when a webhook body is not an update; the message says why, without the body."""


def parse_update(body: bytes) -> dict[str, Any]:
    """Return the update object a webhook body holds.

    Raises:
        MalformedUpdate: when it is not JSON, not an object, or has no integer ``update_id``.
    """
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        msg = "the body is not JSON"
        raise MalformedUpdate(msg) from exc
    if not isinstance(data, dict):
        msg = f"the body is a JSON {type(data).__name__}, not an object"
        raise MalformedUpdate(msg)
    update_id = data.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        msg = "the body has no integer update_id"
        raise MalformedUpdate(msg)
    return data


class WebhookServer:
    """An aiohttp server for one webhook path, started and stopped by the adapter's run loop."""

    def __init__(self, path: str, secret: str, feed: Feed) -> None:
        self._path = path
        self._secret = secret.encode()
        self._feed = feed
        self._runner: web.AppRunner | None = None

    async def start(self, host: str, port: int) -> None:
        """Listen on ``host:port`` for Telegram's POSTs."""
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_post(self._path, self.handle)
        # Stopping waits this long for posts still being handled (several workers);
        # one cut short was not answered, so Telegram delivers it again.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_GRACE)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()

    async def stop(self) -> None:
        """Stop listening (a no-op when it never started)."""
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def handle(self, request: web.Request) -> web.Response:
        """Check the secret, read the update and feed it; answer what went wrong if not."""
        token = request.headers.get(SECRET_HEADER, "").encode(errors="replace")
        if not hmac.compare_digest(token, self._secret):
            return web.Response(status=401, text="Unauthorized")
        try:
            await self._feed(parse_update(await request.read()))
        except MalformedUpdate as exc:
            logger.warning("Webhook request refused: %s", exc)
            return web.Response(status=400, text=f"Bad Request: {exc}")
        except Exception:
            # Handled before the answer (several workers) and failed: nothing was
            # committed, and a 5xx makes Telegram deliver the update again.
            logger.exception("Webhook update not handled; Telegram will deliver it again")
            return web.Response(status=503, text="Service Unavailable")
        return web.Response(status=200)
