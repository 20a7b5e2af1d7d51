"""The HTML parse mode: turn Telegram-flavoured HTML into plain text and entities.

This follows the Bot API server's parser (TDLib's ``parse_html``): only the
documented tags, named entities ``&lt; &gt; &amp; &quot;`` plus numeric ones (the
trailing ``;`` is optional; an unknown ``&name`` stays literal), and the same
error messages (byte offsets count UTF-8 bytes of the source text).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.sandbox.entities import sort_entities, utf16_len

JsonDict = dict[str, Any]
UserLookup = Callable[[int], JsonDict | None]

_SIMPLE_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
}
_SUPPORTED_TAGS = frozenset({*_SIMPLE_TAGS, "a", "code", "pre", "span", "blockquote", "tg-emoji"})
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SPACES = " \t\n\r\v\f"
_USER_LINK = "tg://user?id="
_SPECIAL = re.compile("[<&]")


class HtmlError(ValueError):
    """Raised with TDLib's description of why the HTML cannot be parsed."""


@dataclass(slots=True)
class _Open:
    tag: str
    argument: str
    expandable: bool
    offset: int  # UTF-16 offset in the result
    begin: int  # index into the result parts


def _at(source: str, index: int, message: str) -> HtmlError:
    """Return an error whose message ends with the UTF-8 byte offset of ``index``."""
    return HtmlError(f"{message} at byte offset {len(source[:index].encode('utf-8'))}")


def decode_entity(source: str, i: int) -> tuple[str | None, int]:
    """Decode the HTML entity at ``source[i] == "&"``; return (character or None, next index)."""
    n = len(source)
    end = i + 1
    if end < n and source[end] == "#":
        end += 1
        hexadecimal = end < n and source[end] in "xX"
        if hexadecimal:
            end += 1
        digits = "0123456789abcdefABCDEF" if hexadecimal else "0123456789"
        start = end
        while end < n and source[end] in digits:
            end += 1
        if end == start or end - start > 8:
            return None, i
        code = int(source[start:end], 16 if hexadecimal else 10)
        if code == 0 or code >= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            return None, i
        char = chr(code)
    else:
        while end < n and source[end].isascii() and source[end].isalpha():
            end += 1
        named = _NAMED_ENTITIES.get(source[i + 1 : end])
        if named is None:
            return None, i
        char = named
    if end < n and source[end] == ";":
        end += 1
    return char, end


def parse_html(source: str, lookup_user: UserLookup | None = None) -> tuple[str, list[JsonDict]]:
    """Return the plain text and entities of an HTML-formatted message.

    Raises:
        HtmlError: with Telegram's wording when the markup is invalid.
    """
    parts: list[str] = []
    entities: list[JsonDict] = []
    stack: list[_Open] = []
    pos16 = 0
    i = 0
    n = len(source)
    while i < n:
        special = _SPECIAL.search(source, i)
        nxt = special.start() if special is not None else n
        if nxt > i:
            chunk = source[i:nxt]
            parts.append(chunk)
            pos16 += utf16_len(chunk)
            i = nxt
            continue
        if source[i] == "&":
            char, end = decode_entity(source, i)
            if char is None:
                char, end = "&", i + 1
            parts.append(char)
            pos16 += utf16_len(char)
            i = end
            continue
        if i + 1 < n and source[i + 1] == "/":
            i = _close_tag(source, i, stack, parts, entities, pos16, lookup_user)
        else:
            opened, i = _open_tag(source, i)
            opened.offset, opened.begin = pos16, len(parts)
            stack.append(opened)
    if stack:
        msg = f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"'
        raise HtmlError(msg)
    for entity in entities:
        if entity["type"] == "code":
            entity.pop("language", None)
    return "".join(parts), sort_entities(entities)


def _open_tag(source: str, begin: int) -> tuple[_Open, int]:
    n = len(source)
    i = begin + 1
    while i < n and source[i] not in _SPACES and source[i] != ">":
        i += 1
    if i >= n:
        raise _at(source, begin, "Unclosed start tag")
    tag = source[begin + 1 : i].lower()
    if tag not in _SUPPORTED_TAGS:
        raise _at(source, begin, f'Unsupported start tag "{tag}"')
    argument, expandable = "", False
    while i < n and source[i] != ">":
        while i < n and source[i] in _SPACES:
            i += 1
        if i >= n or source[i] == ">":
            break
        name_start = i
        while i < n and source[i] not in _SPACES and source[i] not in "=>":
            i += 1
        name = source[name_start:i].lower()
        if not name:
            raise _at(source, begin, f'Empty attribute name in the tag "{tag}"')
        while i < n and source[i] in _SPACES:
            i += 1
        if i >= n or source[i] != "=":
            if tag == "blockquote" and name == "expandable":
                expandable = True
                continue
            message = f'Expected equal sign in declaration of an attribute of the tag "{tag}"'
            raise _at(source, begin, message)
        i += 1
        while i < n and source[i] in _SPACES:
            i += 1
        if i >= n:
            raise _at(source, begin, "Unclosed start tag")
        value, i = _attribute_value(source, i)
        if i >= n:
            raise _at(source, begin, "Unclosed start tag")
        if tag == "a" and name == "href":
            argument = value
        elif tag == "code" and name == "class" and value.startswith("language-"):
            argument = value.removeprefix("language-")
        elif tag == "span" and name == "class" and value.startswith("tg-"):
            argument = value.removeprefix("tg-")
        elif tag == "tg-emoji" and name == "emoji-id":
            argument = value
        elif tag == "blockquote" and name == "expandable":
            expandable = True
    if i >= n:
        raise _at(source, begin, "Unclosed start tag")
    if tag == "span" and argument != "spoiler":
        raise _at(source, begin, 'Tag "span" must have class "tg-spoiler"')
    return _Open(tag, argument, expandable, 0, 0), i + 1


def _attribute_value(source: str, i: int) -> tuple[str, int]:
    n = len(source)
    quote = source[i]
    if quote not in "'\"":
        start = i
        while i < n and (source[i].isalnum() or source[i] in ".-"):
            i += 1
        if i < n and source[i] not in _SPACES and source[i] != ">":
            raise _at(source, start, "Unexpected end of name token")
        return source[start:i].lower(), i
    i += 1
    chars: list[str] = []
    while i < n and source[i] != quote:
        if source[i] == "&":
            char, end = decode_entity(source, i)
            if char is not None:
                chars.append(char)
                i = end
                continue
        chars.append(source[i])
        i += 1
    if i < n:
        i += 1
    return "".join(chars), i


def _close_tag(
    source: str,
    begin: int,
    stack: list[_Open],
    parts: list[str],
    entities: list[JsonDict],
    pos16: int,
    lookup_user: UserLookup | None,
) -> int:
    n = len(source)
    if not stack:
        raise _at(source, begin, "Unexpected end tag")
    i = begin + 2
    while i < n and source[i] not in _SPACES and source[i] != ">":
        i += 1
    end_tag = source[begin + 2 : i].lower()
    while i < n and source[i] in _SPACES:
        i += 1
    if i >= n or source[i] != ">":
        raise _at(source, begin, "Unclosed end tag")
    opened = stack[-1]
    if end_tag and end_tag != opened.tag:
        error = _at(source, begin, "Unmatched end tag")
        msg = f'{error}, expected "</{opened.tag}>", found "</{end_tag}>"'
        raise HtmlError(msg)
    stack.pop()
    length = pos16 - opened.offset
    if length > 0:
        inner = "".join(parts[opened.begin :]) if opened.tag == "a" else ""
        entity = _entity(opened, length, inner, entities, lookup_user)
        if entity is not None:
            entities.append(entity)
    return i + 1


def _entity(
    opened: _Open,
    length: int,
    inner_text: str,
    entities: list[JsonDict],
    lookup_user: UserLookup | None,
) -> JsonDict | None:
    entity: JsonDict = {"offset": opened.offset, "length": length}
    tag = opened.tag
    if tag in _SIMPLE_TAGS or tag == "span":
        entity["type"] = _SIMPLE_TAGS.get(tag, "spoiler")
    elif tag == "a":
        url = opened.argument or inner_text
        user = _mentioned_user(url, lookup_user)
        if user is not None:
            entity["type"], entity["user"] = "text_mention", user
        else:
            entity["type"], entity["url"] = "text_link", url
    elif tag == "code":
        entity["type"] = "code"
        if opened.argument:
            entity["language"] = opened.argument
    elif tag == "pre":
        last = entities[-1] if entities else None
        if (
            last is not None
            and last["type"] == "code"
            and last["offset"] == opened.offset
            and last["length"] == length
            and "language" in last
        ):
            entities.pop()
            entity["type"], entity["language"] = "pre", last["language"]
        else:
            entity["type"] = "pre"
    elif tag == "blockquote":
        entity["type"] = "expandable_blockquote" if opened.expandable else "blockquote"
    else:  # tg-emoji
        if not opened.argument:
            return None
        entity["type"], entity["custom_emoji_id"] = "custom_emoji", opened.argument
    return entity


def _mentioned_user(url: str, lookup_user: UserLookup | None) -> JsonDict | None:
    if lookup_user is None or not url.startswith(_USER_LINK):
        return None
    raw = url.removeprefix(_USER_LINK)
    return lookup_user(int(raw)) if raw.isdigit() else None
