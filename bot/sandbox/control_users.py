"""Control API endpoints that act as users: create them, send messages, press buttons, block.

The endpoints are documented in ``bot.sandbox.control``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
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
from bot.sandbox.files import guess_mime_type, upload_mime_type
from bot.sandbox.formatting import format_text
from bot.sandbox.images import probe_image
from bot.sandbox.media import (
    FILE_KINDS,
    FileKind,
    MediaMeta,
    document_json,
    store_file_media,
    store_photo,
    store_sticker,
)
from bot.sandbox.params import Params, Upload, read_params
from bot.sandbox.state import Message, SimUser
from bot.sandbox.views import api_message

JsonDict = dict[str, Any]

DEFAULT_STICKER_EMOJI = "\U0001f44d"
# The form fields of a multipart request besides the file.
_FORM_FIELDS = (
    "user_id",
    "caption",
    "reply_to_message_id",
    "duration",
    "width",
    "height",
    "length",
    "title",
    "performer",
    "first_name",
    "last_name",
    "username",
    "language_code",
)


def _user(emu: Emulator, body: JsonDict) -> SimUser:
    user_id = user_id_field(body)
    return emu.world.upsert_user(
        user_id,
        first_name=str_field(body, "first_name"),
        last_name=str_field(body, "last_name"),
        username=str_field(body, "username"),
        language_code=str_field(body, "language_code"),
    )


async def _acting_user(request: web.Request) -> tuple[Emulator, JsonDict, SimUser]:
    """Return the emulator, a JSON control request's body and the user it acts as."""
    emu = emulator(request)
    body = await json_body(request)
    return emu, body, _user(emu, body)


def _user_sends(
    emu: Emulator, user: SimUser, body: JsonDict, **fields: Any
) -> tuple[Message, int | None]:
    """Store a message from ``user`` (a reply to ``reply_to_message_id`` when given)."""
    return emu.user_message(user, reply_to=_reply_to(emu, user, body), **fields)


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
    emu, body, user = await _acting_user(request)
    text = str_field(body, "text")
    formatted = format_text(text or "", None, None)
    if not formatted.text:
        raise ControlError(400, "'text' must be a non-empty string")
    message, update_id = _user_sends(
        emu, user, body, text=formatted.text, entities=formatted.entities
    )
    return _sent(message, update_id)


@respond
async def press_button(request: web.Request) -> object:
    """Press an inline button on a bot message."""
    emu, body, user = await _acting_user(request)
    message_id = int_field(body, "message_id")
    data = str_field(body, "data")
    if message_id is None or data is None:
        raise ControlError(400, "'message_id' and 'data' are required")
    record, update_id = emu.press_button(user, message_id, data, force=body.get("force") is True)
    return {"update_id": update_id, "callback_query_id": record.id}


async def _file_request(request: web.Request) -> tuple[JsonDict, Upload]:
    body, upload = await _optional_file_request(request)
    if upload is None:
        if request.content_type == "application/json":
            raise ControlError(400, "'content_base64' is required")
        raise ControlError(400, "send the file in a multipart field named 'file'")
    return body, upload


async def _optional_file_request(request: web.Request) -> tuple[JsonDict, Upload | None]:
    """Return the fields and the file of a JSON (``content_base64``) or multipart request."""
    upload: Upload | None
    if request.content_type != "multipart/form-data":
        body = await json_body(request)
        if body.get("content_base64") is None:
            return body, None
        try:
            data = base64.b64decode(str(body.get("content_base64", "")), validate=True)
        except (binascii.Error, ValueError):
            raise ControlError(400, "'content_base64' is not valid base64") from None
        upload = Upload(str_field(body, "file_name"), str_field(body, "mime_type"), data)
    else:
        try:
            params = await read_params(request)
        except ApiError as exc:
            raise ControlError(exc.error_code, exc.description) from None
        body = _form_fields(params)
        names = ("file", "document", "photo", *FILE_KINDS)
        upload = next((u for u in map(params.upload, names) if u is not None), None)
    if upload is not None and not upload.data:
        raise ControlError(400, "the file is empty")
    return body, upload


def _form_fields(params: Params) -> JsonDict:
    return {name: params.text(name) for name in _FORM_FIELDS if params.text(name) is not None}


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
    message, update_id = _user_sends(
        emu, user, body, text=caption, entities=entities, media={"document": document_json(stored)}
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
    message, update_id = _user_sends(
        emu, user, body, text=caption, entities=entities, media={"photo": sizes}
    )
    return _sent(message, update_id, file_id=sizes[-1]["file_id"])


def _meta(body: JsonDict) -> MediaMeta:
    default = MediaMeta()
    values = {}
    for name in ("duration", "width", "height", "length"):
        value = int_field(body, name, required=False)
        if value is not None:
            if value < 0:
                raise ControlError(400, f"'{name}' must not be negative")
            values[name] = value
    return MediaMeta(
        duration=values.get("duration", default.duration),
        width=values.get("width", default.width),
        height=values.get("height", default.height),
        length=values.get("length", default.length),
        title=str_field(body, "title"),
        performer=str_field(body, "performer"),
    )


async def _send_file_kind(request: web.Request, kind: FileKind) -> object:
    """Inject a voice, audio, video, video note or animation message from a user."""
    emu = emulator(request)
    body, upload = await _optional_file_request(request)
    user = _user(emu, body)
    reply_to = _reply_to(emu, user, body)
    if upload is None:
        media = store_file_media(emu.files, kind, None, _meta(body))
    else:
        mime = upload_mime_type(upload.filename, upload.content_type, kind.mime_type)
        media = store_file_media(emu.files, kind, upload.data, _meta(body), upload.filename, mime)
    caption, entities = _caption(body) if kind.captioned else (None, [])
    message, update_id = emu.user_message(
        user, text=caption, entities=entities, media=media, reply_to=reply_to
    )
    return _sent(message, update_id, file_id=media[kind.kind]["file_id"])


def file_kind_endpoint(name: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Return the endpoint that injects a ``name`` message (voice, video …) from a user."""

    async def send(request: web.Request) -> object:
        return await _send_file_kind(request, FILE_KINDS[name])

    return respond(send)


@respond
async def send_sticker(request: web.Request) -> object:
    """Inject a sticker message from a user."""
    emu, body, user = await _acting_user(request)
    reply_to = _reply_to(emu, user, body)
    sticker = store_sticker(emu.files, str_field(body, "emoji") or DEFAULT_STICKER_EMOJI)
    message, update_id = emu.user_message(user, media={"sticker": sticker}, reply_to=reply_to)
    return _sent(message, update_id, file_id=sticker["file_id"])


@respond
async def send_location(request: web.Request) -> object:
    """Inject a location message from a user."""
    emu, body, user = await _acting_user(request)
    point = {}
    for name, limit in (("latitude", 90.0), ("longitude", 180.0)):
        value = body.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float) or abs(value) > limit:
            raise ControlError(400, f"'{name}' must be a number within ±{limit:g}")
        point[name] = float(value)
    message, update_id = _user_sends(emu, user, body, media={"location": point})
    return _sent(message, update_id)


@respond
async def send_contact(request: web.Request) -> object:
    """Inject a contact message from a user."""
    emu, body, user = await _acting_user(request)
    phone, first_name = str_field(body, "phone_number"), str_field(body, "first_name")
    if not phone or not first_name:
        raise ControlError(400, "'phone_number' and 'first_name' are required")
    contact: JsonDict = {"phone_number": phone, "first_name": first_name}
    last_name, vcard = str_field(body, "last_name"), str_field(body, "vcard")
    if last_name:
        contact["last_name"] = last_name
    if vcard:
        contact["vcard"] = vcard
    contact_user_id = int_field(body, "contact_user_id", required=False)
    if contact_user_id is not None:
        contact["user_id"] = contact_user_id
    message, update_id = _user_sends(emu, user, body, media={"contact": contact})
    return _sent(message, update_id)


@respond
async def pin_message(request: web.Request) -> object:
    """Make a user pin a message of their chat: a service message with ``pinned_message``."""
    emu, body, user = await _acting_user(request)
    message_id = int_field(body, "message_id")
    pinned = emu.world.find_message(user.id, message_id or 0)
    if pinned is None:
        raise ControlError(404, f"message {message_id} not found in chat {user.id}")
    payload = api_message(emu, pinned, with_reply=False)
    message, update_id = emu.user_message(user, media={"pinned_message": payload})
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
    router.add_post(f"{prefix}/contact", send_contact)
    for name in ("voice", "audio", "video", "video_note", "animation"):
        router.add_post(f"{prefix}/{name}", file_kind_endpoint(name))
    router.add_post(f"{prefix}/pin", pin_message)
    router.add_post(f"{prefix}/block", block)
    router.add_post(f"{prefix}/unblock", unblock)
