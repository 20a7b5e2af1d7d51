"""Media objects: the Document, PhotoSize, Sticker, Voice, Video... JSON of stored files."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.sandbox.files import FileStore, StoredFile
from bot.sandbox.images import ImageInfo, probe_image

JsonDict = dict[str, Any]

# Telegram's smallest photo thumbnail side; photos larger than this also get one.
THUMB_SIDE = 90
# The largest side Telegram keeps for a photo.
MAX_PHOTO_SIDE = 2560
STICKER_SIDE = 512
# A 1x1 lossless WebP image, the content of injected stickers.
STICKER_WEBP = bytes.fromhex(
    "524946461a000000574542505650384c0d0000002f00000010071011118888fe0700"
)
# The start of an MP4 file (its ftyp box) and of an Ogg stream: what a simulated user's
# video or voice holds when the control API is given no file (players will not play it).
_MP4_PLACEHOLDER = bytes.fromhex("00000018667479706d703432000000006d70343269736f6d")
_OGG_PLACEHOLDER = b"OggS\x00\x02" + bytes(22)
_MP3_PLACEHOLDER = b"ID3\x04\x00\x00" + bytes(4)
# Telegram's default side of a video note, and the size given to videos of unknown size.
VIDEO_NOTE_LENGTH = 384
DEFAULT_VIDEO_SIZE = (640, 360)


@dataclass(frozen=True, slots=True)
class FileKind:
    """A kind of media message sent as one file: its Message field and how files are kept.

    ``captioned`` kinds take a caption; ``kind`` is the Message field, ``folder`` the
    start of the file path (and of the file_id) Telegram gives such files.
    """

    kind: str
    folder: str
    mime_type: str
    extension: str
    placeholder: bytes
    captioned: bool


FILE_KINDS = {
    kind.kind: kind
    for kind in (
        FileKind("voice", "voice", "audio/ogg", "oga", _OGG_PLACEHOLDER, True),
        FileKind("audio", "music", "audio/mpeg", "mp3", _MP3_PLACEHOLDER, True),
        FileKind("video", "videos", "video/mp4", "mp4", _MP4_PLACEHOLDER, True),
        FileKind("video_note", "video_notes", "video/mp4", "mp4", _MP4_PLACEHOLDER, False),
        FileKind("animation", "animations", "video/mp4", "mp4", _MP4_PLACEHOLDER, True),
    )
}
# Message fields of content that takes a caption (a copy's caption replaces it).
CAPTIONED = frozenset(
    {"document", "photo", *(kind.kind for kind in FILE_KINDS.values() if kind.captioned)}
)


@dataclass(frozen=True, slots=True)
class MediaMeta:
    """What Telegram reads from a voice, audio or video file; given by the sender here."""

    duration: int = 1
    width: int = DEFAULT_VIDEO_SIZE[0]
    height: int = DEFAULT_VIDEO_SIZE[1]
    length: int = VIDEO_NOTE_LENGTH
    title: str | None = None
    performer: str | None = None


def document_json(stored: StoredFile) -> JsonDict:
    """Return the Document object for a stored file."""
    document: JsonDict = {}
    if stored.file_name:
        document["file_name"] = stored.file_name
    if stored.mime_type:
        document["mime_type"] = stored.mime_type
    document["file_id"] = stored.file_id
    document["file_unique_id"] = stored.file_unique_id
    document["file_size"] = stored.size
    return document


def _scaled(info: ImageInfo, side: int) -> tuple[int, int]:
    longest = max(info.width, info.height)
    if longest <= side:
        return info.width, info.height
    return max(1, info.width * side // longest), max(1, info.height * side // longest)


def _size_json(stored: StoredFile, width: int, height: int) -> JsonDict:
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": stored.size,
        "width": width,
        "height": height,
    }


def store_photo(files: FileStore, data: bytes, info: ImageInfo) -> list[JsonDict]:
    """Store an image and return its PhotoSize list, smallest first.

    Telegram re-encodes photos into several sizes; here every size serves the
    original bytes, and only a thumbnail plus the full size are listed.
    """
    sizes: list[JsonDict] = []
    extension = info.mime_type.rpartition("/")[2].replace("jpeg", "jpg")
    if max(info.width, info.height) > THUMB_SIDE:
        thumb = files.add(data, "photos", mime_type=info.mime_type, extension=extension)
        sizes.append(_size_json(thumb, *_scaled(info, THUMB_SIDE)))
    full = files.add(data, "photos", mime_type=info.mime_type, extension=extension)
    sizes.append(_size_json(full, *_scaled(info, MAX_PHOTO_SIDE)))
    return sizes


def photo_from_file(stored: StoredFile) -> list[JsonDict]:
    """Return the PhotoSize list for re-sending a stored photo by file_id."""
    info = probe_image(stored.data) or ImageInfo("image/jpeg", 0, 0)
    return [_size_json(stored, *_scaled(info, MAX_PHOTO_SIDE))]


def store_sticker(files: FileStore, emoji: str) -> JsonDict:
    """Store a placeholder sticker image and return its Sticker object."""
    stored = files.add(STICKER_WEBP, "stickers", mime_type="image/webp", extension="webp")
    return sticker_json(stored, emoji)


def _file_fields(stored: StoredFile) -> JsonDict:
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": stored.size,
    }


def file_media(kind: FileKind, stored: StoredFile, meta: MediaMeta) -> JsonDict:
    """Return the Message fields of a voice, audio, video, video note or animation message.

    An animation message also has the ``document`` field, as Telegram sends it for
    backward compatibility.
    """
    named: JsonDict = {"file_name": stored.file_name} if stored.file_name else {}
    mime: JsonDict = {"mime_type": stored.mime_type or kind.mime_type}
    video: JsonDict = {"width": meta.width, "height": meta.height}
    if kind.kind == "voice":
        return {"voice": {"duration": meta.duration, **mime, **_file_fields(stored)}}
    if kind.kind == "audio":
        tags: JsonDict = {}
        if meta.performer:
            tags["performer"] = meta.performer
        if meta.title:
            tags["title"] = meta.title
        fields = {"duration": meta.duration, **named, **mime, **tags, **_file_fields(stored)}
        return {"audio": fields}
    if kind.kind == "video":
        fields = {"duration": meta.duration, **video, **named, **mime, **_file_fields(stored)}
        return {"video": fields}
    if kind.kind == "video_note":
        fields = {"duration": meta.duration, "length": meta.length, **_file_fields(stored)}
        return {"video_note": fields}
    animation = {**named, **mime, "duration": meta.duration, **video, **_file_fields(stored)}
    return {"animation": animation, "document": {**named, **mime, **_file_fields(stored)}}


def store_file_media(
    files: FileStore,
    kind: FileKind,
    data: bytes | None,
    meta: MediaMeta,
    file_name: str | None = None,
    mime_type: str | None = None,
) -> JsonDict:
    """Store a media file (a placeholder when ``data`` is None) and return its Message fields."""
    if data is None:
        stored = files.add(
            kind.placeholder, kind.folder, mime_type=kind.mime_type, extension=kind.extension
        )
    else:
        stored = files.add(data, kind.folder, file_name, mime_type or kind.mime_type)
    return file_media(kind, stored, meta)


def sticker_json(stored: StoredFile, emoji: str) -> JsonDict:
    """Return the Sticker object of a stored sticker file."""
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "type": "regular",
        "width": STICKER_SIDE,
        "height": STICKER_SIDE,
        "is_animated": False,
        "is_video": False,
        "emoji": emoji,
        "file_size": stored.size,
    }
