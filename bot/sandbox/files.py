"""Stored files: uploaded and injected file contents, addressed by file_id and file_path."""

from __future__ import annotations

import mimetypes
import secrets
from collections import OrderedDict
from dataclasses import dataclass

# Keep at most this many bytes of file contents; the oldest files are forgotten first.
MAX_STORED_BYTES = 256 * 1024 * 1024
# Telegram lets bots download files up to this size with getFile.
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
# The type of a file nothing is known about.
UNKNOWN_TYPE = "application/octet-stream"

# Common types, so that guessing does not depend on the machine's mime.types.
_COMMON_TYPES = {
    "csv": "text/csv",
    "txt": "text/plain",
    "json": "application/json",
    "pdf": "application/pdf",
    "zip": "application/zip",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "vcf": "text/vcard",
    "ogg": "audio/ogg",
    "oga": "audio/ogg",
    "opus": "audio/ogg",
    "mp3": "audio/mpeg",
    "m4a": "audio/mp4",
    "mp4": "video/mp4",
}
# The start of Telegram's file ids by file type, and the folders of their file paths.
_ID_PREFIX = {
    "documents": "BQACAgIAAxkBAA",
    "photos": "AgACAgIAAxkBAA",
    "stickers": "CAACAgIAAxkBAA",
    "voice": "AwACAgIAAxkBAA",
    "videos": "BAACAgIAAxkBAA",
    "video_notes": "DQACAgIAAxkBAA",
    "music": "CQACAgIAAxkBAA",
    "animations": "CgACAgIAAxkBAA",
}


@dataclass(frozen=True, slots=True)
class StoredFile:
    """One file's contents and the identifiers Telegram gives it."""

    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    file_name: str | None
    mime_type: str | None

    @property
    def size(self) -> int:
        """Return the file size in bytes."""
        return len(self.data)


def guess_mime_type(file_name: str | None) -> str:
    """Return the MIME type Telegram would give a file of this name."""
    if file_name:
        known = _COMMON_TYPES.get(file_name.rpartition(".")[2].lower())
        if known is not None:
            return known
        guessed, _ = mimetypes.guess_type(file_name, strict=False)
        if guessed:
            return guessed
    return UNKNOWN_TYPE


def upload_mime_type(
    file_name: str | None, content_type: str | None, default: str = UNKNOWN_TYPE
) -> str:
    """Return an upload's MIME type: by its name, else as it was sent, else ``default``."""
    guessed = guess_mime_type(file_name)
    if guessed != UNKNOWN_TYPE:
        return guessed
    return content_type or default


class FileStore:
    """Keep file contents in memory, bounded by total size."""

    def __init__(self, max_bytes: int = MAX_STORED_BYTES) -> None:
        self._max_bytes = max_bytes
        self._by_id: OrderedDict[str, StoredFile] = OrderedDict()
        self._by_path: dict[str, StoredFile] = {}
        self._bytes = 0
        self._counter = 0

    def add(
        self,
        data: bytes,
        folder: str,
        file_name: str | None = None,
        mime_type: str | None = None,
        extension: str | None = None,
    ) -> StoredFile:
        """Store ``data`` under a new file_id in ``folder`` (documents, photos, voice...)."""
        self._counter += 1
        if extension is None:
            extension = file_name.rpartition(".")[2] if file_name and "." in file_name else ""
        suffix = f".{extension.lower()}" if extension else ""
        stored = StoredFile(
            file_id=_ID_PREFIX.get(folder, "BAACAgIAAxkBAA") + secrets.token_urlsafe(36),
            file_unique_id="AgAD" + secrets.token_urlsafe(9),
            file_path=f"{folder}/file_{self._counter}{suffix}",
            data=data,
            file_name=file_name,
            mime_type=mime_type,
        )
        self._by_id[stored.file_id] = stored
        self._by_path[stored.file_path] = stored
        self._bytes += stored.size
        while self._bytes > self._max_bytes and len(self._by_id) > 1:
            _, old = self._by_id.popitem(last=False)
            del self._by_path[old.file_path]
            self._bytes -= old.size
        return stored

    def get(self, file_id: str) -> StoredFile | None:
        """Return the file with this file_id, or None."""
        return self._by_id.get(file_id)

    def by_path(self, file_path: str) -> StoredFile | None:
        """Return the file stored at this file_path, or None."""
        return self._by_path.get(file_path)

    def clear(self) -> None:
        """Forget all files."""
        self._by_id.clear()
        self._by_path.clear()
        self._bytes = 0

    def __len__(self) -> int:
        """Return how many files are held."""
        return len(self._by_id)

    @property
    def total_bytes(self) -> int:
        """Return the bytes currently held."""
        return self._bytes
