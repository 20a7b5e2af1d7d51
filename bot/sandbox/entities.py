"""Message entities: UTF-16 offsets, automatic detection, validation and trimming.

Telegram measures entity offsets and lengths in UTF-16 code units, detects
commands, mentions, hashtags, URLs and e-mail addresses in every message text by
itself (best effort here: URLs need an ``http(s)://`` scheme), and strips
leading and trailing white space from message texts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

JsonDict = dict[str, Any]

# Entity types a client may pass in ``entities`` (everything else is dropped).
KNOWN_TYPES = frozenset(
    {
        "mention",
        "hashtag",
        "cashtag",
        "bot_command",
        "url",
        "email",
        "phone_number",
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "blockquote",
        "expandable_blockquote",
        "code",
        "pre",
        "text_link",
        "text_mention",
        "custom_emoji",
        "date_time",
    }
)
# Entities inside which nothing is detected automatically.
_OPAQUE_TYPES = frozenset(
    {"code", "pre", "text_link", "text_mention", "custom_emoji", "url", "email", "mention"}
)
_WHITESPACE = " \t\n\r\v\f\u00a0"
_DETECT = re.compile(
    r"(?P<url>\bhttps?://[^\s<>\"]+)"
    r"|(?P<email>(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})"
    r"|(?P<bot_command>(?<![\w/\\])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/]))"
    r"|(?P<mention>(?<![\w@])@[A-Za-z0-9_]{5,32}(?![\w@]))"
    r"|(?P<hashtag>(?<![\w#])#(?=\w*[^\W\d])\w{1,256})"
)
_URL_TAIL = ".,;:!?'\")]}"


def utf16_len(text: str) -> int:
    """Return the length of ``text`` in UTF-16 code units."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def utf16_slice(text: str, offset: int, length: int) -> str:
    """Return the part of ``text`` an entity covers."""
    if text.isascii():
        return text[offset : offset + length]
    raw = text.encode("utf-16-le")
    return raw[offset * 2 : (offset + length) * 2].decode("utf-16-le", "replace")


def sort_entities(entities: list[JsonDict]) -> list[JsonDict]:
    """Return entities ordered as Telegram orders them: by offset, longer first."""
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return entities


def detect_entities(text: str, existing: Iterable[JsonDict] = ()) -> list[JsonDict]:
    """Return the entities Telegram finds in plain text by itself.

    Nothing is detected inside ``existing`` code, pre, link and mention entities.
    """
    if not any(c in text for c in "/@#:"):
        return []
    blocked = [
        (e["offset"], e["offset"] + e["length"]) for e in existing if e["type"] in _OPAQUE_TYPES
    ]
    found: list[JsonDict] = []
    ascii_text = text.isascii()
    for match in _DETECT.finditer(text):
        kind = match.lastgroup or ""
        start, end = match.span()
        if kind == "url":
            while end > start and text[end - 1] in _URL_TAIL:
                end -= 1
        if ascii_text:
            offset, length = start, end - start
        else:
            offset = utf16_len(text[:start])
            length = utf16_len(text[start:end])
        if any(offset < b_end and offset + length > b_start for b_start, b_end in blocked):
            continue
        found.append({"offset": offset, "length": length, "type": kind})
    return found


def normalize_entities(raw: object, text: str) -> list[JsonDict] | None:
    """Return client-supplied entities cleaned up, or None when ``raw`` is not a list.

    Unknown types and entities outside the text are dropped, overlong ones are cut.
    """
    if not isinstance(raw, list):
        return None
    total = utf16_len(text)
    result: list[JsonDict] = []
    for item in raw:
        if not isinstance(item, dict):
            return None
        kind, offset, length = item.get("type"), item.get("offset"), item.get("length")
        if kind not in KNOWN_TYPES or not isinstance(offset, int) or not isinstance(length, int):
            continue
        if offset < 0 or length <= 0 or offset >= total:
            continue
        entity: JsonDict = {"offset": offset, "length": min(length, total - offset), "type": kind}
        for key in ("url", "language", "custom_emoji_id", "user"):
            if key in item and item[key] is not None:
                entity[key] = item[key]
        if kind == "text_link" and not isinstance(entity.get("url"), str):
            continue
        result.append(entity)
    return result


def strip_text(text: str, entities: list[JsonDict]) -> tuple[str, list[JsonDict]]:
    """Strip leading and trailing white space, moving and cutting entities to match."""
    stripped = text.strip(_WHITESPACE)
    if len(stripped) == len(text):
        return text, entities
    if not stripped:
        return "", []
    lead = utf16_len(text[: len(text) - len(text.lstrip(_WHITESPACE))])
    new_total = utf16_len(stripped)
    kept: list[JsonDict] = []
    for entity in entities:
        start = max(entity["offset"] - lead, 0)
        end = min(entity["offset"] + entity["length"] - lead, new_total)
        if end <= start:
            continue
        kept.append({**entity, "offset": start, "length": end - start})
    return stripped, kept
