"""Control API plumbing: JSON bodies, typed fields, error answers and the base URL."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.sandbox.emulator import EMULATOR_KEY, Emulator
from bot.sandbox.errors import ControlError

logger = logging.getLogger(__name__)

JsonDict = dict[str, Any]
ControlHandler = Callable[[web.Request], Awaitable[object]]


def emulator(request: web.Request) -> Emulator:
    """Return the request's emulator."""
    return request.app[EMULATOR_KEY]


def base_url(request: web.Request) -> str:
    """Return the URL file links start with: the configured public URL or the request's."""
    emu = emulator(request)
    return emu.public_url or f"{request.scheme}://{request.host}"


async def json_body(request: web.Request) -> JsonDict:
    """Return the request's JSON object body ({} when empty).

    Raises:
        ControlError: 400 when the body is not a JSON object.
    """
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise ControlError(400, "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ControlError(400, "the body must be a JSON object")
    return body


def int_field(body: JsonDict, name: str, required: bool = True) -> int | None:
    """Return an integer field.

    Raises:
        ControlError: 400 when it is missing (and required) or not an integer.
    """
    value = body.get(name)
    if value is None:
        if required:
            raise ControlError(400, f"'{name}' is required")
        return None
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ControlError(400, f"'{name}' must be an integer")
    return value


def user_id_field(body: JsonDict, name: str = "user_id") -> int:
    """Return a positive user id field.

    Raises:
        ControlError: 400 when it is missing or not a positive integer.
    """
    value = int_field(body, name)
    if value is None or value <= 0:
        raise ControlError(400, f"'{name}' must be a positive integer")
    return value


def str_field(body: JsonDict, name: str) -> str | None:
    """Return an optional string field.

    Raises:
        ControlError: 400 when it is present but not a string.
    """
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise ControlError(400, f"'{name}' must be a string")
    return value


def respond(handler: ControlHandler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Wrap a handler returning JSON data; turn ControlError into ``{"error": ...}``."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        """Run the handler and serialise its answer."""
        try:
            result = await handler(request)
        except ControlError as exc:
            return web.json_response({"error": exc.message}, status=exc.status)
        except Exception:
            logger.exception("Control endpoint %s failed", request.path)
            return web.json_response({"error": "internal error, see the log"}, status=500)
        return web.json_response(result, dumps=_dumps)

    wrapped.__name__ = handler.__name__
    wrapped.__doc__ = handler.__doc__
    return wrapped


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)
