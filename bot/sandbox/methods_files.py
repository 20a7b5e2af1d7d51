"""Bot API methods on files: sendDocument, sendPhoto, getFile and the file download route.

Deviations from Telegram: files are not fetched from HTTP URLs (such a document
or photo is answered as a wrong file identifier), and photos are stored as sent
rather than re-encoded to JPEG sizes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from bot.sandbox.arguments import caption_arg, chat_id_arg, markup_arg, reply_arg
from bot.sandbox.errors import ApiError
from bot.sandbox.files import MAX_DOWNLOAD_BYTES, StoredFile, guess_mime_type
from bot.sandbox.images import probe_image
from bot.sandbox.media import document_json, photo_from_file, store_photo
from bot.sandbox.registry import api_method
from bot.sandbox.views import api_message

if TYPE_CHECKING:
    from bot.sandbox.emulator import Emulator
    from bot.sandbox.formatting import Formatted
    from bot.sandbox.params import JsonDict, Params, Upload

WRONG_FILE = "Bad Request: wrong file identifier/HTTP URL specified"
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


def _send_media(
    emu: Emulator, params: Params, chat_id: int, caption: Formatted, media: JsonDict
) -> object:
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
    chat_id = chat_id_arg(params)
    caption = caption_arg(emu, params)
    source = _file_arg(emu, params, "document")
    markup_arg(params)
    emu.writable_chat(chat_id)
    if isinstance(source, StoredFile):
        if not source.file_path.startswith("documents/"):
            raise ApiError(400, "Bad Request: type of file mismatch")
        stored = source
    else:
        name = source.filename or "document"
        mime = guess_mime_type(name)
        if mime == "application/octet-stream" and source.content_type:
            mime = source.content_type
        stored = emu.files.add(source.data, "documents", file_name=name, mime_type=mime)
    return _send_media(emu, params, chat_id, caption, {"document": document_json(stored)})


@api_method("sendPhoto", sends_message=True)
async def send_photo(emu: Emulator, params: Params) -> object:
    """Send an image (uploaded, or an earlier file_id) as a photo."""
    chat_id = chat_id_arg(params)
    caption = caption_arg(emu, params)
    source = _file_arg(emu, params, "photo")
    markup_arg(params)
    emu.writable_chat(chat_id)
    if isinstance(source, StoredFile):
        if not source.file_path.startswith("photos/"):
            raise ApiError(400, "Bad Request: type of file mismatch")
        sizes = photo_from_file(source)
    else:
        info = probe_image(source.data)
        if info is None:
            raise ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
        if info.width + info.height > MAX_PHOTO_DIMENSIONS:
            raise ApiError(400, "Bad Request: PHOTO_INVALID_DIMENSIONS")
        sizes = store_photo(emu.files, source.data, info)
    return _send_media(emu, params, chat_id, caption, {"photo": sizes})


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
    return web.Response(
        body=stored.data, content_type=stored.mime_type or "application/octet-stream"
    )
