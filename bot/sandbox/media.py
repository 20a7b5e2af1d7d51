"""Media objects: the Document, PhotoSize and Sticker JSON built from stored files."""

from __future__ import annotations

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
