"""Bot API methods about the bot itself: getMe, updates, webhook and command menus."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from bot.sandbox.commands import normalize_language, normalize_scope, validate_commands
from bot.sandbox.errors import ApiError, chat_not_found
from bot.sandbox.registry import Described, api_method
from bot.sandbox.updates import UPDATE_TYPES, PollEnd
from bot.sandbox.webhook import WebhookSettings, validate_secret, validate_webhook_url

if TYPE_CHECKING:
    from bot.sandbox.emulator import Emulator
    from bot.sandbox.params import JsonDict, Params

# The longest getUpdates long poll honoured, in seconds.
MAX_POLL_TIMEOUT = 600
WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
    "delete the webhook first"
)
TERMINATED = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot "
    "instance is running"
)


@api_method("getMe")
async def get_me(emu: Emulator, params: Params) -> object:
    """Return the bot's User object."""
    return emu.get_me()


@api_method("logOut")
async def log_out(emu: Emulator, params: Params) -> object:
    """Accept a log out (nothing to do locally)."""
    return True


@api_method("close")
async def close(emu: Emulator, params: Params) -> object:
    """Accept a close (nothing to do locally)."""
    return True


def _allowed_updates(params: Params) -> list[str] | None:
    raw = params.json("allowed_updates")
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise ApiError(400, "Bad Request: can't parse allowed updates JSON object")
    return [kind for kind in raw if isinstance(kind, str) and kind in UPDATE_TYPES]


@api_method("getUpdates")
async def get_updates(emu: Emulator, params: Params) -> object:
    """Return pending updates, long-polling up to ``timeout`` seconds when there are none."""
    if emu.webhook.url:
        raise ApiError(409, WEBHOOK_ACTIVE)
    offset = params.integer("offset")
    limit = params.integer("limit", 100)
    if not 1 <= limit <= 100:
        limit = 100
    timeout = min(max(params.integer("timeout"), 0), MAX_POLL_TIMEOUT)
    allowed = _allowed_updates(params)
    if allowed is not None:
        emu.updates.set_allowed(allowed)
    queue = emu.updates
    ticket = queue.begin_poll()
    try:
        if offset:
            queue.confirm(offset)
        items = queue.peek(limit)
        if not items and timeout > 0:
            await asyncio.wait({ticket}, timeout=timeout)
            if ticket.done() and not ticket.cancelled():
                if ticket.result() is PollEnd.CONFLICT:
                    raise ApiError(409, TERMINATED)
                if ticket.result() is PollEnd.WEBHOOK:
                    raise ApiError(409, WEBHOOK_ACTIVE)
            items = queue.peek(limit)
        return [update.to_json() for update in items]
    finally:
        queue.end_poll(ticket)


@api_method("setWebhook")
async def set_webhook(emu: Emulator, params: Params) -> object:
    """Set (or, with an empty url, remove) the webhook."""
    url = (params.text("url") or "").strip()
    if not url:
        return _delete_webhook(emu, params)
    validate_webhook_url(url)
    secret = validate_secret(params.text("secret_token"))
    max_connections = params.integer("max_connections", 40)
    if not 1 <= max_connections <= 100:
        max_connections = 40
    allowed = _allowed_updates(params)
    if allowed is not None:
        emu.updates.set_allowed(allowed)
    if params.flag("drop_pending_updates"):
        emu.updates.drop_pending()
    old = emu.webhook
    new = WebhookSettings(
        url=url,
        secret_token=secret,
        max_connections=max_connections,
        has_custom_certificate=params.upload("certificate") is not None,
        ip_address=params.text("ip_address") or None,
    )
    already = old.url == url
    if already:
        new.last_error_date, new.last_error_message = old.last_error_date, old.last_error_message
    emu.webhook = new
    emu.updates.interrupt_poll()
    emu.notify_webhook_changed()
    return Described(True, "Webhook is already set" if already else "Webhook was set")


def _delete_webhook(emu: Emulator, params: Params) -> Described:
    if params.flag("drop_pending_updates"):
        emu.updates.drop_pending()
    was_set = bool(emu.webhook.url)
    emu.webhook = WebhookSettings()
    emu.notify_webhook_changed()
    return Described(True, "Webhook was deleted" if was_set else "Webhook is already deleted")


@api_method("deleteWebhook")
async def delete_webhook(emu: Emulator, params: Params) -> object:
    """Remove the webhook, optionally dropping pending updates."""
    return _delete_webhook(emu, params)


@api_method("getWebhookInfo")
async def get_webhook_info(emu: Emulator, params: Params) -> object:
    """Return the WebhookInfo object."""
    return emu.webhook.info(emu.updates.pending_count, emu.updates.allowed_updates)


def _scope_and_language(emu: Emulator, params: Params) -> tuple[JsonDict, str]:
    scope = normalize_scope(params.json("scope", "BotCommandScope"))
    chat_id = scope.get("chat_id")
    if isinstance(chat_id, int) and chat_id not in emu.world.chats:
        raise chat_not_found()
    if isinstance(chat_id, str):
        raise chat_not_found()
    return scope, normalize_language(params.text("language_code"))


@api_method("setMyCommands")
async def set_my_commands(emu: Emulator, params: Params) -> object:
    """Store the command list for a scope and language."""
    commands = validate_commands(params.json("commands"))
    scope, language = _scope_and_language(emu, params)
    emu.commands.set(scope, language, commands)
    return True


@api_method("getMyCommands")
async def get_my_commands(emu: Emulator, params: Params) -> object:
    """Return the command list of exactly this scope and language."""
    scope, language = _scope_and_language(emu, params)
    return emu.commands.get(scope, language)


@api_method("deleteMyCommands")
async def delete_my_commands(emu: Emulator, params: Params) -> object:
    """Delete the command list of a scope and language."""
    scope, language = _scope_and_language(emu, params)
    emu.commands.delete(scope, language)
    return True
