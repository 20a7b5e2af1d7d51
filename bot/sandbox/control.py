"""The control API under ``/_emulator/``: drive simulated users and inspect the emulator.

Bodies and answers are JSON (file uploads: multipart). Errors are
``{"error": "..."}`` with status 400 (bad input), 404 (unknown thing) or 409 (the
user has blocked the bot). Users are created on first use with first name
``User <id>``; a user's private chat has the user's id. ``seq`` is a change
counter shared by all chats: every message sent, edited or deleted gets the next
value, so "what changed since X" is ``after=X``.

Users (acting as a Telegram client):

``POST /_emulator/users`` ``{id, first_name?, last_name?, username?, language_code?}``
    Create or update a user -> ``{user, blocked}``. ``GET`` lists ``{users: [...]}``.
``POST /_emulator/send`` ``{user_id, text, reply_to_message_id?, first_name?, ...}``
    The user sends a text message (a ``/command`` gets a ``bot_command`` entity and
    other entities are detected as Telegram does) -> ``{update_id, message_id, seq}``.
``POST /_emulator/callback`` ``{user_id, message_id, data, force?}``
    The user presses the inline button with this ``callback_data`` on a bot message:
    404 when the message does not exist, 400 when it has no such button, unless
    ``force`` is true (forged data) -> ``{update_id, callback_query_id}``.
``POST /_emulator/document`` multipart ``user_id, file, caption?, reply_to_message_id?``
    (or JSON ``{user_id, file_name, content_base64, caption?, reply_to_message_id?}``)
    The user sends a document; the MIME type is guessed from the file name ->
    ``{update_id, message_id, seq, file_id}``.
``POST /_emulator/photo`` same fields as ``document``
    The user sends a PNG/JPEG/GIF/WebP photo -> ``{..., file_id}`` (largest size).
``POST /_emulator/voice``, ``/audio``, ``/video``, ``/video_note``, ``/animation``
    ``{user_id, caption?, duration?, reply_to_message_id?}`` plus ``width?, height?``
    (video, animation), ``length?`` (video note), ``title?, performer?`` (audio);
    the file is optional (JSON ``file_name, content_base64``, or a multipart
    ``file``): without one a few placeholder bytes are stored. The user sends a
    voice message, a music file, a video, a round video note (no caption) or a GIF
    (whose message also has a ``document`` field, as Telegram sends it) ->
    ``{update_id, message_id, seq, file_id}``.
``POST /_emulator/sticker`` ``{user_id, emoji?, reply_to_message_id?}``
    The user sends a sticker -> ``{update_id, message_id, seq, file_id}``.
``POST /_emulator/location`` ``{user_id, latitude, longitude, reply_to_message_id?}``
    The user sends a location -> ``{update_id, message_id, seq}``.
``POST /_emulator/contact`` ``{user_id, phone_number, first_name, last_name?, vcard?,
contact_user_id?, reply_to_message_id?}``
    The user sends a contact (``contact_user_id`` becomes the Contact's ``user_id``: the
    user's own id when they share their own number) -> ``{update_id, message_id, seq}``.
``POST /_emulator/pin`` ``{user_id, message_id}``
    The user pins a message of the chat: a service message with ``pinned_message``
    (which copyMessage refuses) -> ``{update_id, message_id, seq}``.

Every message a user sends with ``reply_to_message_id`` (404 when that message does
not exist) replies to it: its update carries ``reply_to_message``, the full Message
replied to, without a further ``reply_to_message`` of its own, as Telegram sends it.
``POST /_emulator/block`` / ``POST /_emulator/unblock`` ``{user_id}``
    The user blocks (unblocks) the bot: a ``my_chat_member`` update (``member`` <->
    ``kicked``); while blocked, sends to the chat answer 403 -> ``{update_id, blocked}``
    (``update_id`` is null when nothing changed).

``update_id`` is null when the update's type is excluded by ``allowed_updates``.

Inspection:

``GET /_emulator/chats/{chat_id}/messages?after=&wait=&min=&from_bot=&deleted=``
    The chat's messages by message_id, user's and bot's: ``{chat_id, seq,
    messages}``; ``seq`` is the current change counter (pass it as the next
    ``after``). Each message: ``seq, chat_id, message_id, from_bot, date, kind``
    (text, document, photo, sticker, voice, video, video_note, audio, animation,
    location, contact, or service), ``text`` (plain text or caption, as the user sees
    it), ``html`` (the text as sent with parse_mode HTML, else null), ``parse_mode,
    entities, reply_markup, reply_to_message_id``, the media objects ``photo,
    document, sticker, voice, video, video_note, audio, animation`` (each with a
    download ``url``; null when absent), ``location, contact, pinned_message_id``,
    ``copy_of`` (``{chat_id, message_id}`` a bot's copyMessage copied, else null),
    ``edited, edit_date, deleted``. ``after=N`` keeps messages whose seq > N;
    ``from_bot=1|0`` filters by sender; ``deleted=0`` hides deleted ones; ``wait=S``
    long-polls up to S seconds until at least ``min`` (default 1) messages match.
    404 for an unknown chat.
``GET /_emulator/callbacks/{callback_query_id}``
    The pressed button and the bot's answer: ``{..., answered, answer: {text,
    show_alert, url, cache_time, answered_at}}``.
``GET /_emulator/commands``
    Every command list: ``{commands: [{scope, language_code, commands}]}``.
``GET /_emulator/updates``
    Pending (unconfirmed) updates, without confirming them: ``{updates: [...]}``.
``GET /_emulator/state``
    Summary: bot, webhook info, pending updates, users, files, faults, strict, stats.
``POST /_emulator/reset``
    Forget users, chats, messages, updates, files, faults, stats, callbacks and the
    webhook. Command lists and strict mode stay; update_id and seq keep growing.

Faults and flood control:

``POST /_emulator/faults`` ``{method ("sendMessage" or "*"), error_code?
(400|403|429|500|502|503), description?, retry_after? (429, default 1), chat_id?,
times? (default 1, null = until cleared), probability? (0-1), seed?, latency_ms?}``
    Add a fault rule -> ``{id, fault}``. A hit waits ``latency_ms``, then answers the error in
    Telegram's format without performing the request (latency-only rules let the
    request run). ``seed`` reseeds the generator used for ``probability``.
``GET /_emulator/faults`` -> ``{faults: [...]}``; ``DELETE /_emulator/faults`` removes
    all -> ``{deleted}``; ``DELETE /_emulator/faults/{id}`` removes one.
``POST /_emulator/strict`` ``{enabled, global_per_second? (30), chat_per_second? (1)}``
    Strict mode: messages sent (sendMessage, sendPhoto, copyMessage...) beyond the
    limits within any sliding second are answered 429 (retry_after 1) and not performed;
    ``allow_paid_broadcast`` raises the global limit to 1000/s. ``GET`` shows it.
``GET /_emulator/stats``
    ``{requests_by_method, sent_messages, violations: {global, per_chat},
    faults_injected, too_many_requests_sent}``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiohttp import web

from bot.sandbox import control_users
from bot.sandbox.controlio import base_url, emulator, int_field, json_body, respond
from bot.sandbox.errors import ControlError
from bot.sandbox.views import control_message

JsonDict = dict[str, Any]

PREFIX = "/_emulator"
# The longest wait the messages endpoint honours, in seconds.
MAX_WAIT = 300.0


def _query_int(request: web.Request, name: str, default: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ControlError(400, f"'{name}' must be an integer") from None


def _query_flag(request: web.Request, name: str) -> bool | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    return raw.lower() in ("1", "true", "yes")


@respond
async def chat_messages(request: web.Request) -> object:
    """List a chat's messages, optionally long-polling for new changes."""
    emu = emulator(request)
    try:
        chat_id = int(request.match_info["chat_id"])
        wait = min(max(float(request.query.get("wait") or 0), 0.0), MAX_WAIT)
    except ValueError:
        raise ControlError(400, "chat_id and wait must be numbers") from None
    after = _query_int(request, "after", 0)
    minimum = max(_query_int(request, "min", 1), 0)
    from_bot = _query_flag(request, "from_bot")
    show_deleted = _query_flag(request, "deleted") is not False
    if chat_id not in emu.world.chats:
        raise ControlError(404, f"chat {chat_id} not found")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while True:
        chat = emu.world.chats.get(chat_id)
        found = [
            message
            for message in (chat.messages.values() if chat is not None else ())
            if message.seq > after
            and (from_bot is None or message.from_bot == from_bot)
            and (show_deleted or not message.deleted)
        ]
        remaining = deadline - loop.time()
        if len(found) >= minimum or remaining <= 0 or chat is None:
            break
        await emu.world.wait_for_change(chat_id, remaining)
    base = base_url(request)
    return {
        "chat_id": chat_id,
        "seq": emu.world.seq,
        "messages": [control_message(emu, message, base) for message in found],
    }


@respond
async def callback_state(request: web.Request) -> object:
    """Show a callback query and its answer."""
    record = emulator(request).world.callbacks.get(request.match_info["query_id"])
    if record is None:
        raise ControlError(404, "callback query not found")
    return record.to_json()


@respond
async def commands(request: web.Request) -> object:
    """List every stored command list."""
    return {"commands": emulator(request).commands.all()}


@respond
async def pending_updates(request: web.Request) -> object:
    """List pending updates without confirming them."""
    return {"updates": [u.to_json() for u in emulator(request).updates.peek(1_000_000)]}


@respond
async def state(request: web.Request) -> object:
    """Summarise the emulator's state."""
    emu = emulator(request)
    queue = emu.updates
    users = [
        {
            **chat.user.to_json(),
            "blocked": chat.blocked,
            "message_count": sum(1 for m in chat.messages.values() if not m.deleted),
        }
        for chat in emu.world.chats.values()
    ]
    return {
        "bot": emu.get_me(),
        "webhook": emu.webhook.info(queue.pending_count, queue.allowed_updates),
        "pending_update_count": queue.pending_count,
        "last_update_id": queue.last_update_id,
        "allowed_updates": queue.allowed_updates,
        "seq": emu.world.seq,
        "users": users,
        "files": {"count": len(emu.files), "bytes": emu.files.total_bytes},
        "faults": len(emu.faults.rules),
        "strict": emu.strict.to_json(),
        "stats": emu.stats.to_json(),
        "uptime": round(time.time() - emu.started, 3),
    }


@respond
async def reset(request: web.Request) -> object:
    """Forget everything but command lists and strict mode."""
    emulator(request).reset()
    return {"ok": True}


@respond
async def add_fault(request: web.Request) -> object:
    """Add a fault rule."""
    rule = emulator(request).faults.add(await json_body(request))
    return {"id": rule.id, "fault": rule.to_json()}


@respond
async def list_faults(request: web.Request) -> object:
    """List the fault rules."""
    return {"faults": [rule.to_json() for rule in emulator(request).faults.rules]}


@respond
async def clear_faults(request: web.Request) -> object:
    """Remove all fault rules."""
    faults = emulator(request).faults
    count = len(faults.rules)
    faults.clear()
    return {"deleted": count}


@respond
async def delete_fault(request: web.Request) -> object:
    """Remove one fault rule."""
    faults = emulator(request).faults
    try:
        rule_id = int(request.match_info["fault_id"])
    except ValueError:
        raise ControlError(400, "fault id must be an integer") from None
    kept = [rule for rule in faults.rules if rule.id != rule_id]
    if len(kept) == len(faults.rules):
        raise ControlError(404, f"fault {rule_id} not found")
    faults.rules[:] = kept
    return {"deleted": 1}


@respond
async def set_strict(request: web.Request) -> object:
    """Switch strict mode and set its limits."""
    body = await json_body(request)
    enabled = body.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ControlError(400, "'enabled' must be a boolean")
    global_limit = int_field(body, "global_per_second", required=False) or 30
    chat_limit = int_field(body, "chat_per_second", required=False) or 1
    if global_limit < 1 or chat_limit < 1:
        raise ControlError(400, "limits must be positive")
    strict = emulator(request).strict
    strict.configure(enabled, global_limit, chat_limit)
    return strict.to_json()


@respond
async def get_strict(request: web.Request) -> object:
    """Show the strict mode settings."""
    return emulator(request).strict.to_json()


@respond
async def stats(request: web.Request) -> object:
    """Show the request statistics."""
    return emulator(request).stats.to_json()


def add_routes(app: web.Application) -> None:
    """Add every control API route."""
    control_users.add_routes(app, PREFIX)
    router = app.router
    router.add_get(PREFIX + "/chats/{chat_id}/messages", chat_messages)
    router.add_get(PREFIX + "/callbacks/{query_id}", callback_state)
    router.add_get(PREFIX + "/commands", commands)
    router.add_get(PREFIX + "/updates", pending_updates)
    router.add_get(PREFIX + "/state", state)
    router.add_post(PREFIX + "/reset", reset)
    router.add_post(PREFIX + "/faults", add_fault)
    router.add_get(PREFIX + "/faults", list_faults)
    router.add_delete(PREFIX + "/faults", clear_faults)
    router.add_delete(PREFIX + "/faults/{fault_id}", delete_fault)
    router.add_post(PREFIX + "/strict", set_strict)
    router.add_get(PREFIX + "/strict", get_strict)
    router.add_get(PREFIX + "/stats", stats)
