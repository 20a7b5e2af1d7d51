"""Bot API methods on files: send a document, photo, voice, audio, video, video note,
animation or sticker, getFile and the file download route.

Deviations from Telegram: files are not fetched from HTTP URLs (such a file is
answered as a wrong file identifier), photos are stored as sent rather than
re-encoded to JPEG sizes, and an uploaded voice, audio or video is not probed:
its ``duration``, ``width``, ``height`` and ``length`` are what the request says
(else defaults).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from bot.sandbox.arguments import caption_arg, chat_id_arg, markup_arg, reply_arg
from bot.sandbox.errors import ApiError
from bot.sandbox.files import MAX_DOWNLOAD_BYTES, UNKNOWN_TYPE, StoredFile, upload_mime_type
from bot.sandbox.formatting import format_text
from bot.sandbox.images import probe_image
from bot.sandbox.media import (
    FILE_KINDS,
    STICKER_WEBP,
    FileKind,
    MediaMeta,
    document_json,
    file_media,
    photo_from_file,
    sticker_json,
    store_file_media,
    store_photo,
)
from bot.sandbox.registry import Handler, api_method
from bot.sandbox.views import api_message

if TYPE_CHECKING:
    from bot.sandbox.emulator import Emulator
    from bot.sandbox.formatting import Formatted
    from bot.sandbox.params import JsonDict, Params, Upload

WRONG_FILE = "Bad Request: wrong file identifier/HTTP URL specified"
# Telegram's names of file types, by the folder their files are kept in.
_TYPE_NAMES = {
    "documents": "Document",
    "photos": "Photo",
    "stickers": "Sticker",
    "voice": "VoiceNote",
    "music": "Audio",
    "videos": "Video",
    "video_notes": "VideoNote",
    "animations": "Animation",
}
DEFAULT_STICKER_EMOJI = "\U0001f44d"
# A photo's width plus height may not exceed this.
MAX_PHOTO_DIMENSIONS = 10_000


def _file_arg(emu: Emulator, params: Params, name: str) -> Upload | StoredFile:
    upload = params.upload(name)
    if upload is not None:
        if not upload.data:
            raise ApiError(400, "Bad Request: file must be non-empty")
        return upload
    value = (params.text(name) or "").strip()
    if not value or params.has_attach_reference(name):
        raise ApiError(400, f"Bad Request: there is no {name} in the request")
    stored = emu.files.get(value)
    if stored is None:
        raise ApiError(400, WRONG_FILE)
    return stored


def _check_type(stored: StoredFile, folder: str) -> None:
    """Refuse a file_id of another type, as Telegram does.

    Raises:
        ApiError: 400 "can't use file of type ... as ...".
    """
    actual = stored.file_path.partition("/")[0]
    if actual != folder:
        raise ApiError(
            400,
            f"Bad Request: can't use file of type {_TYPE_NAMES.get(actual, 'Document')} "
            f"as {_TYPE_NAMES[folder]}",
        )


def _file_request(
    emu: Emulator, params: Params, name: str, folder: str, *, captioned: bool = True
) -> tuple[int, Formatted, StoredFile | Upload]:
    """Read a file-sending call's chat, caption and file ``name``, all checked before storing.

    Raises:
        ApiError: 400 for a bad argument or a file_id of another type, 403 when blocked.
    """
    chat_id = chat_id_arg(params)
    caption = caption_arg(emu, params) if captioned else format_text("", None, None)
    source = _file_arg(emu, params, name)
    markup_arg(params)
    emu.writable_chat(chat_id)
    if isinstance(source, StoredFile):
        _check_type(source, folder)
    return chat_id, caption, source


def send_media(
    emu: Emulator, params: Params, chat_id: int, caption: Formatted, media: JsonDict
) -> object:
    """Store the bot's message of non-text content (with its reply and markup) and return it.

    Raises:
        ApiError: 400 for bad markup or a missing replied message, 403 when blocked.
    """
    markup = markup_arg(params)
    chat = emu.writable_chat(chat_id)
    reply_to = reply_arg(emu, params, chat)
    parse_mode = params.text("parse_mode") or None
    message = emu.world.add_message(
        chat,
        True,
        text=caption.text or None,
        entities=caption.entities,
        source=params.text("caption") if parse_mode else None,
        parse_mode=parse_mode,
        media=media,
        reply_markup=markup,
        reply_to=reply_to,
        protected=params.flag("protect_content"),
    )
    return api_message(emu, message)


@api_method("sendDocument", sends_message=True)
async def send_document(emu: Emulator, params: Params) -> object:
    """Send a file (uploaded, or an earlier file_id) as a document."""
    chat_id, caption, source = _file_request(emu, params, "document", "documents")
    if isinstance(source, StoredFile):
        stored = source
    else:
        name = source.filename or "document"
        mime = upload_mime_type(source.filename, source.content_type)
        stored = emu.files.add(source.data, "documents", file_name=name, mime_type=mime)
    return send_media(emu, params, chat_id, caption, {"document": document_json(stored)})


@api_method("sendPhoto", sends_message=True)
async def send_photo(emu: Emulator, params: Params) -> object:
    """Send an image (uploaded, or an earlier file_id) as a photo."""
    chat_id, caption, source = _file_request(emu, params, "photo", "photos")
    if isinstance(source, StoredFile):
        sizes = photo_from_file(source)
    else:
        info = probe_image(source.data)
        if info is None:
            raise ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
        if info.width + info.height > MAX_PHOTO_DIMENSIONS:
            raise ApiError(400, "Bad Request: PHOTO_INVALID_DIMENSIONS")
        sizes = store_photo(emu.files, source.data, info)
    return send_media(emu, params, chat_id, caption, {"photo": sizes})


def _meta(params: Params) -> MediaMeta:
    default = MediaMeta()
    return MediaMeta(
        duration=max(params.integer("duration", default.duration), 0),
        width=max(params.integer("width", default.width), 0),
        height=max(params.integer("height", default.height), 0),
        length=max(params.integer("length", default.length), 0),
        title=params.text("title") or None,
        performer=params.text("performer") or None,
    )


def _send_file_kind(emu: Emulator, params: Params, kind: FileKind) -> object:
    """Send a voice, audio, video, video note or animation, uploaded or by file_id."""
    chat_id, caption, source = _file_request(
        emu, params, kind.kind, kind.folder, captioned=kind.captioned
    )
    if isinstance(source, StoredFile):
        media = file_media(kind, source, _meta(params))
    else:
        mime = upload_mime_type(source.filename, source.content_type, kind.mime_type)
        media = store_file_media(
            emu.files, kind, source.data, _meta(params), source.filename, mime
        )
    return send_media(emu, params, chat_id, caption, media)


def _file_kind_method(name: str) -> Handler:
    """Return the handler that sends a ``name`` file (voice, video …), uploaded or by file_id."""

    async def send(emu: Emulator, params: Params) -> object:
        return _send_file_kind(emu, params, FILE_KINDS[name])

    return send


# sendVideoNote takes no caption; the others take one (FILE_KINDS says which).
for _method, _kind in (
    ("sendVoice", "voice"),
    ("sendAudio", "audio"),
    ("sendVideo", "video"),
    ("sendVideoNote", "video_note"),
    ("sendAnimation", "animation"),
):
    api_method(_method, sends_message=True)(_file_kind_method(_kind))


@api_method("sendSticker", sends_message=True)
async def send_sticker(emu: Emulator, params: Params) -> object:
    """Send a sticker by file_id, or an uploaded WEBP image as one (``emoji`` for it)."""
    chat_id, caption, source = _file_request(emu, params, "sticker", "stickers", captioned=False)
    if isinstance(source, StoredFile):
        stored = source
        emoji = _sticker_emoji(emu, source)
    else:
        stored = emu.files.add(
            source.data or STICKER_WEBP, "stickers", mime_type="image/webp", extension="webp"
        )
        emoji = params.text("emoji") or DEFAULT_STICKER_EMOJI
    return send_media(emu, params, chat_id, caption, {"sticker": sticker_json(stored, emoji)})


def _sticker_emoji(emu: Emulator, stored: StoredFile) -> str:
    """Return the emoji a sticker was first sent with (found in the chats), or the default."""
    for chat in emu.world.chats.values():
        for message in chat.messages.values():
            sticker = (message.media or {}).get("sticker")
            if sticker is not None and sticker["file_id"] == stored.file_id:
                return str(sticker.get("emoji") or DEFAULT_STICKER_EMOJI)
    return DEFAULT_STICKER_EMOJI


@api_method("getFile")
async def get_file(emu: Emulator, params: Params) -> object:
    """Return the File object with the path to download a file from."""
    stored = emu.files.get((params.text("file_id") or "").strip())
    if stored is None:
        raise ApiError(400, WRONG_FILE)
    if stored.size > MAX_DOWNLOAD_BYTES:
        raise ApiError(400, "Bad Request: file is too big")
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": stored.size,
        "file_path": stored.file_path,
    }


def download(emu: Emulator, token: str, file_path: str) -> web.Response:
    """Return the HTTP response for ``GET /file/bot<token>/<file_path>``."""
    if token != emu.config.token:
        return web.json_response(ApiError(401, "Unauthorized").to_json(), status=401)
    stored = emu.files.by_path(file_path)
    if stored is None:
        return web.json_response(ApiError(404, "Not Found").to_json(), status=404)
    return web.Response(body=stored.data, content_type=stored.mime_type or UNKNOWN_TYPE)
