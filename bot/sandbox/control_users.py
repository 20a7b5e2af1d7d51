"""Control API endpoints that act as users: create them, send messages, press buttons, block.

The endpoints are documented in ``bot.sandbox.control``.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from aiohttp import web

from bot.sandbox.controlio import (
    emulator,
    int_field,
    json_body,
    respond,
    str_field,
    user_id_field,
)
from bot.sandbox.emulator import Emulator
from bot.sandbox.errors import ApiError, ControlError
from bot.sandbox.files import guess_mime_type
from bot.sandbox.formatting import format_text
from bot.sandbox.images import probe_image
from bot.sandbox.media import document_json, store_photo, store_sticker
from bot.sandbox.params import Params, Upload, read_params
from bot.sandbox.state import Message, SimUser

JsonDict = dict[str, Any]

DEFAULT_STICKER_EMOJI = "\U0001f44d"


def _user(emu: Emulator, body: JsonDict) -> SimUser:
    user_id = user_id_field(body)
    return emu.world.upsert_user(
        user_id,
        first_name=str_field(body, "first_name"),
        last_name=str_field(body, "last_name"),
        username=str_field(body, "username"),
        language_code=str_field(body, "language_code"),
    )


def _sent(message: Message, update_id: int | None, **extra: object) -> JsonDict:
    return {"update_id": update_id, "message_id": message.message_id, "seq": message.seq, **extra}


def _reply_to(emu: Emulator, user: SimUser, body: JsonDict) -> int | None:
    reply_to = int_field(body, "reply_to_message_id", required=False)
    if reply_to is not None and emu.world.find_message(user.id, reply_to) is None:
        raise ControlError(404, f"message {reply_to} not found in chat {user.id}")
    return reply_to


@respond
async def upsert_user(request: web.Request) -> object:
    """Create or update a user."""
    emu = emulator(request)
    body = await json_body(request)
    body.setdefault("user_id", body.get("id"))
    user = _user(emu, body)
    return {"user": user.to_json(), "blocked": emu.world.chats[user.id].blocked}


@respond
async def list_users(request: web.Request) -> object:
    """List all users."""
    emu = emulator(request)
    return {
        "users": [
            {**user.to_json(), "blocked": emu.world.chats[user.id].blocked}
            for user in emu.world.users.values()
        ]
    }


@respond
async def send_text(request: web.Request) -> object:
    """Inject a text message from a user."""
    emu = emulator(request)
    body = await json_body(request)
    user = _user(emu, body)
    text = str_field(body, "text")
    formatted = format_text(text or "", None, None)
    if not formatted.text:
        raise ControlError(400, "'text' must be a non-empty string")
    message, update_id = emu.user_message(
        user,
        text=formatted.text,
        entities=formatted.entities,
        reply_to=_reply_to(emu, user, body),
    )
    return _sent(message, update_id)


@respond
async def press_button(request: web.Request) -> object:
    """Press an inline button on a bot message."""
    emu = emulator(request)
    body = await json_body(request)
    user = _user(emu, body)
    message_id = int_field(body, "message_id")
    data = str_field(body, "data")
    if message_id is None or data is None:
        raise ControlError(400, "'message_id' and 'data' are required")
    record, update_id = emu.press_button(user, message_id, data, force=body.get("force") is True)
    return {"update_id": update_id, "callback_query_id": record.id}


async def _file_request(request: web.Request) -> tuple[JsonDict, Upload]:
    if request.content_type == "application/json":
        body = await json_body(request)
        try:
            data = base64.b64decode(str(body.get("content_base64", "")), validate=True)
        except (binascii.Error, ValueError):
            raise ControlError(400, "'content_base64' is not valid base64") from None
        upload = Upload(str_field(body, "file_name"), None, data)
    else:
        try:
            params = await read_params(request)
        except ApiError as exc:
            raise ControlError(exc.error_code, exc.description) from None
        body = _form_fields(params)
        found = next(
            (u for u in map(params.upload, ("file", "document", "photo")) if u is not None), None
        )
        if found is None:
            raise ControlError(400, "send the file in a multipart field named 'file'")
        upload = found
    if not upload.data:
        raise ControlError(400, "the file is empty")
    return body, upload


def _form_fields(params: Params) -> JsonDict:
    fields = ("user_id", "caption", "first_name", "last_name", "username", "language_code")
    return {name: params.text(name) for name in fields if params.text(name) is not None}


def _caption(body: JsonDict) -> tuple[str | None, list[JsonDict]]:
    formatted = format_text(str_field(body, "caption") or "", None, None)
    return formatted.text or None, formatted.entities


@respond
async def send_document(request: web.Request) -> object:
    """Inject a document message from a user."""
    emu = emulator(request)
    body, upload = await _file_request(request)
    user = _user(emu, body)
    name = upload.filename or "document"
    stored = emu.files.add(upload.data, "documents", name, guess_mime_type(name))
    caption, entities = _caption(body)
    message, update_id = emu.user_message(
        user, text=caption, entities=entities, media={"document": document_json(stored)}
    )
    return _sent(message, update_id, file_id=stored.file_id)


@respond
async def send_photo(request: web.Request) -> object:
    """Inject a photo message from a user."""
    emu = emulator(request)
    body, upload = await _file_request(request)
    user = _user(emu, body)
    info = probe_image(upload.data)
    if info is None:
        raise ControlError(400, "the file is not a PNG, JPEG, GIF or WebP image")
    sizes = store_photo(emu.files, upload.data, info)
    caption, entities = _caption(body)
    message, update_id = emu.user_message(
        user, text=caption, entities=entities, media={"photo": sizes}
    )
    return _sent(message, update_id, file_id=sizes[-1]["file_id"])


@respond
async def send_sticker(request: web.Request) -> object:
    """Inject a sticker message from a user."""
    emu = emulator(request)
    body = await json_body(request)
    user = _user(emu, body)
    sticker = store_sticker(emu.files, str_field(body, "emoji") or DEFAULT_STICKER_EMOJI)
    message, update_id = emu.user_message(user, media={"sticker": sticker})
    return _sent(message, update_id, file_id=sticker["file_id"])


@respond
async def send_location(request: web.Request) -> object:
    """Inject a location message from a user."""
    emu = emulator(request)
    body = await json_body(request)
    user = _user(emu, body)
    point = {}
    for name, limit in (("latitude", 90.0), ("longitude", 180.0)):
        value = body.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float) or abs(value) > limit:
            raise ControlError(400, f"'{name}' must be a number within ±{limit:g}")
        point[name] = float(value)
    message, update_id = emu.user_message(user, media={"location": point})
    return _sent(message, update_id)


async def _set_blocked(request: web.Request, blocked: bool) -> object:
    emu = emulator(request)
    user = _user(emu, await json_body(request))
    return {"update_id": emu.set_blocked(user, blocked), "blocked": blocked}


@respond
async def block(request: web.Request) -> object:
    """Make a user block the bot."""
    return await _set_blocked(request, True)


@respond
async def unblock(request: web.Request) -> object:
    """Make a user unblock the bot."""
    return await _set_blocked(request, False)


def add_routes(app: web.Application, prefix: str) -> None:
    """Add the user-side control routes under ``prefix``."""
    router = app.router
    router.add_post(f"{prefix}/users", upsert_user)
    router.add_get(f"{prefix}/users", list_users)
    router.add_post(f"{prefix}/send", send_text)
    router.add_post(f"{prefix}/callback", press_button)
    router.add_post(f"{prefix}/document", send_document)
    router.add_post(f"{prefix}/photo", send_photo)
    router.add_post(f"{prefix}/sticker", send_sticker)
    router.add_post(f"{prefix}/location", send_location)
    router.add_post(f"{prefix}/block", block)
    router.add_post(f"{prefix}/unblock", unblock)
