"""The Bot API endpoint: ``/bot<token>/<method>`` requests run through faults and flood control.

Method names are case-insensitive; GET and POST both work; parameters come from
the query string and the body (see ``params``). Answers use Telegram's format:
``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": N, "description":
"..."}`` with ``parameters.retry_after`` on 429. A wrong token is 401
``Unauthorized``; a method that is not implemented is 404 ``Not Found``.
"""

from __future__ import annotations

import asyncio
import json
import logging

from aiohttp import web

# Importing the method modules registers their handlers.
from bot.sandbox import (  # noqa: F401
    methods_content,
    methods_core,
    methods_files,
    methods_messages,
)
from bot.sandbox.emulator import EMULATOR_KEY, Emulator
from bot.sandbox.errors import ApiError, too_many_requests
from bot.sandbox.faults import Violation
from bot.sandbox.methods_files import download
from bot.sandbox.params import Params, read_params
from bot.sandbox.registry import METHODS, Described, Method

logger = logging.getLogger(__name__)

_UNAUTHORIZED = ApiError(401, "Unauthorized")
_NOT_FOUND = ApiError(404, "Not Found")


def _chat_hint(params: Params) -> int | None:
    raw = params.text("chat_id")
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        return None


async def execute(emu: Emulator, method: Method, params: Params) -> object:
    """Run one method call through fault rules and strict mode, then its handler.

    Raises:
        ApiError: the error Telegram would answer with.
    """
    stats = emu.stats
    stats.requests_by_method[method.name] += 1
    chat_id: int | None = None
    if emu.faults.rules:
        chat_id = _chat_hint(params)
        rule = emu.faults.match(method.key, chat_id)
        if rule is not None:
            stats.faults_injected += 1
            if rule.latency_ms:
                await asyncio.sleep(rule.latency_ms / 1000)
            error = rule.error()
            if error is not None:
                if error.error_code == 429:
                    stats.too_many_requests_sent += 1
                raise error
    if method.sends_message and emu.strict.enabled:
        if chat_id is None:
            chat_id = _chat_hint(params)
        violation = emu.strict.check(chat_id, params.flag("allow_paid_broadcast"))
        if violation is not None:
            if violation is Violation.GLOBAL:
                stats.violations_global += 1
            else:
                stats.violations_per_chat += 1
            stats.too_many_requests_sent += 1
            raise too_many_requests(1)
    result = await method.handler(emu, params)
    if method.sends_message:
        stats.sent_messages += 1
    return result


async def execute_by_name(emu: Emulator, name: str, params: Params) -> object:
    """Run a method given by name, as a webhook answer asks for.

    Raises:
        ApiError: 404 for an unknown method, or the method's own error.
    """
    method = METHODS.get(name.lower())
    if method is None:
        raise _NOT_FOUND
    return await execute(emu, method, params)


def _json_response(body: object, status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(),
        status=status,
        content_type="application/json",
    )


def _error_response(error: ApiError) -> web.Response:
    return _json_response(error.to_json(), error.error_code)


async def handle_method(request: web.Request) -> web.StreamResponse:
    """Answer one Bot API request."""
    emu = request.app[EMULATOR_KEY]
    if request.match_info["token"] != emu.config.token:
        return _error_response(_UNAUTHORIZED)
    method = METHODS.get(request.match_info["method"].lower())
    if method is None:
        return _error_response(_NOT_FOUND)
    try:
        params = await read_params(request)
        result = await execute(emu, method, params)
    except ApiError as exc:
        logger.debug("%s answered %d: %s", method.name, exc.error_code, exc.description)
        return _error_response(exc)
    except Exception:
        logger.exception("%s failed inside the emulator", method.name)
        return _error_response(ApiError(500, "Internal Server Error"))
    if isinstance(result, Described):
        return _json_response(
            {"ok": True, "result": result.result, "description": result.description}
        )
    return _json_response({"ok": True, "result": result})


async def handle_download(request: web.Request) -> web.StreamResponse:
    """Serve ``GET /file/bot<token>/<file_path>``."""
    emu = request.app[EMULATOR_KEY]
    return download(emu, request.match_info["token"], request.match_info["path"])


def add_routes(app: web.Application) -> None:
    """Add the Bot API and file download routes."""
    app.router.add_route("GET", "/file/bot{token}/{path:.+}", handle_download)
    app.router.add_route("*", "/bot{token}/{method}", handle_method)
