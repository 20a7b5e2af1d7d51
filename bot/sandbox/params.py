"""Request parameters, read the way the Bot API server reads them.

Parameters may come from the query string and from an ``application/json``,
``application/x-www-form-urlencoded`` or ``multipart/form-data`` body (the body wins
over the query string). Form values are strings, so JSON-valued parameters
(``reply_markup``, ``entities``, ``commands``...) arrive as JSON text and numbers and
booleans as their text; the typed getters accept both forms, leniently, as the
Bot API server does (a number that does not parse reads as 0).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import BodyPartReader, hdrs, web

from bot.sandbox.errors import ApiError

JsonDict = dict[str, Any]

# The largest request body accepted (Telegram allows 50 MB uploads).
MAX_BODY_BYTES = 50 * 1024 * 1024
_ATTACH_PREFIX = "attach://"
_TRUE = frozenset({"true", "True", "1"})


@dataclass(frozen=True, slots=True)
class Upload:
    """One file sent as a multipart part."""

    filename: str | None
    content_type: str | None
    data: bytes


class Params:
    """Give typed, lenient access to one request's parameters."""

    __slots__ = ("_files", "_values")

    def __init__(
        self, values: Mapping[str, object], files: Mapping[str, Upload] | None = None
    ) -> None:
        self._values = values
        self._files: Mapping[str, Upload] = files or {}

    def raw(self, name: str) -> object | None:
        """Return the value as sent, or None when absent."""
        return self._values.get(name)

    def text(self, name: str) -> str | None:
        """Return the value as a string, or None when absent."""
        value = self._values.get(name)
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(value)
        return json.dumps(value, ensure_ascii=False)

    def integer(self, name: str, default: int = 0) -> int:
        """Return the value as an integer; absent gives ``default``, garbage gives 0."""
        value = self._values.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            return value
        if isinstance(value, float):
            return int(value)
        try:
            return int(str(value).strip())
        except ValueError:
            try:
                return int(float(str(value)))
            except ValueError:
                return 0

    def flag(self, name: str) -> bool:
        """Return the value as a boolean (``true`` or ``1``)."""
        value = self._values.get(name)
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            return value != 0
        return isinstance(value, str) and value.strip() in _TRUE

    def json(self, name: str, what: str | None = None) -> object | None:
        """Return a JSON-valued parameter decoded, or None when absent.

        Raises:
            ApiError: 400 when a string value is not valid JSON.
        """
        value = self._values.get(name)
        if not isinstance(value, str):
            return value
        if not value.strip():
            return None
        try:
            decoded: object = json.loads(value)
        except ValueError:
            raise ApiError(400, f"Bad Request: can't parse {what or name} JSON object") from None
        return decoded

    def upload(self, name: str) -> Upload | None:
        """Return the file part for ``name``, following an ``attach://`` reference."""
        direct = self._files.get(name)
        if direct is not None:
            return direct
        value = self._values.get(name)
        if isinstance(value, str) and value.startswith(_ATTACH_PREFIX):
            return self._files.get(value.removeprefix(_ATTACH_PREFIX))
        return None

    def has_attach_reference(self, name: str) -> bool:
        """Return True when the value is an ``attach://`` reference."""
        value = self._values.get(name)
        return isinstance(value, str) and value.startswith(_ATTACH_PREFIX)


async def read_params(request: web.Request) -> Params:
    """Collect a request's parameters from its query string and body.

    Raises:
        ApiError: 413 for an oversized body, 400 for a malformed JSON body.
    """
    values: dict[str, object] = dict(request.query) if request.query_string else {}
    if not request.body_exists:
        return Params(values)
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise ApiError(413, "Request Entity Too Large")
    content_type = request.content_type
    if content_type == "multipart/form-data":
        files = await _read_multipart(request, values)
        return Params(values, files)
    if content_type == "application/json":
        try:
            body = json.loads(await request.read())
        except ValueError:
            raise ApiError(400, "Bad Request: can't parse JSON object") from None
        if not isinstance(body, dict):
            raise ApiError(400, "Bad Request: can't parse JSON object")
        values.update((k, v) for k, v in body.items() if v is not None)
        return Params(values)
    form = await request.post()
    for key, field in form.items():
        if isinstance(field, str):
            values[key] = field
    return Params(values)


async def _read_multipart(request: web.Request, values: dict[str, object]) -> dict[str, Upload]:
    files: dict[str, Upload] = {}
    reader = await request.multipart()
    total = 0
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader) or not part.name:
            continue
        data = await part.read(decode=True)
        total += len(data)
        if total > MAX_BODY_BYTES:
            raise ApiError(413, "Request Entity Too Large")
        if part.filename is not None:
            files[part.name] = Upload(
                part.filename, part.headers.get(hdrs.CONTENT_TYPE), bytes(data)
            )
        else:
            values[part.name] = data.decode(part.get_charset(default="utf-8"), "replace")
    return files
