"""The MarkdownV2 and legacy Markdown parse modes, after the Bot API server's parsers.

MarkdownV2 supports bold, italic, underline, strikethrough, spoiler, inline code,
pre blocks with a language, ``[text](url)`` links, ``![x](tg://emoji?id=N)`` custom
emoji and ``>`` block quotes (not the expandable ``**>`` form). Errors use the
server's wording; byte offsets count UTF-8 bytes of the source text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.entities import sort_entities, utf16_len

JsonDict = dict[str, Any]

_RESERVED = "_*[]()~`>#+-=|{}.!"
_TYPE_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}
_EMOJI_LINK = "tg://emoji?id="


class MarkdownError(ValueError):
    """Raised with the server's description of why the Markdown cannot be parsed."""


@dataclass(slots=True)
class _Open:
    type: str
    offset: int
    byte_index: int
    language: str = ""


@dataclass(slots=True)
class _Output:
    parts: list[str] = field(default_factory=list)
    pos16: int = 0

    def add(self, text: str) -> None:
        """Append text and advance the UTF-16 position."""
        self.parts.append(text)
        self.pos16 += utf16_len(text)


def _byte_offset(source: str, index: int) -> int:
    return len(source[:index].encode("utf-8"))


def _reserved_error(char: str) -> MarkdownError:
    return MarkdownError(
        f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
    )


def _closes(top: _Open, source: str, i: int) -> bool:
    c, nxt = source[i], source[i + 1 : i + 2]
    kind = top.type
    if kind == "bold":
        return c == "*"
    if kind == "italic":
        return c == "_" and nxt != "_"
    if kind == "underline":
        return c == "_" and nxt == "_"
    if kind == "strikethrough":
        return c == "~"
    if kind == "spoiler":
        return c == "|" and nxt == "|"
    if kind == "code":
        return c == "`"
    if kind == "pre":
        return source.startswith("```", i)
    return c == "]"  # text_link, custom_emoji


def _skip_pre_start(source: str, i: int) -> tuple[int, str]:
    """Return the index after an opening ``` and its language."""
    n = len(source)
    end = i
    while end < n and source[end] not in " \t\n\r\v\f`":
        end += 1
    language = ""
    if end != i and end < n and source[end] != "`":
        language, i = source[i:end], end
    if i < n and source[i] in "\r\n":
        i += 2 if source[i + 1 : i + 2] in ("\r", "\n") and source[i + 1] != source[i] else 1
    return i, language


def parse_markdown_v2(source: str) -> tuple[str, list[JsonDict]]:
    """Return the plain text and entities of a MarkdownV2-formatted message.

    Raises:
        MarkdownError: when the markup is invalid.
    """
    out = _Output()
    entities: list[JsonDict] = []
    stack: list[_Open] = []
    quote_start: int | None = None
    i, n = 0, len(source)
    while i < n:
        c = source[i]
        in_code = bool(stack) and stack[-1].type in ("code", "pre")
        at_line_start = i == 0 or source[i - 1] == "\n"
        if at_line_start and not in_code:
            if c == ">":
                if quote_start is None:
                    quote_start = out.pos16
                i += 1
                continue
            if quote_start is not None:
                _add_quote(entities, quote_start, out.pos16 - 1)
                quote_start = None
        if c == "\\" and i + 1 < n and 0 < ord(source[i + 1]) <= 126:
            out.add(source[i + 1])
            i += 2
            continue
        if c not in ("`" if in_code else _RESERVED):
            out.add(c)
            i += 1
            continue
        if stack and _closes(stack[-1], source, i):
            i = _close(source, i, stack.pop(), out, entities)
            continue
        i = _open(source, i, stack, out)
    if quote_start is not None:
        _add_quote(entities, quote_start, out.pos16)
    if stack:
        top = stack[-1]
        msg = (
            f"Can't find end of {_TYPE_NAMES[top.type]} entity at byte offset "
            f"{_byte_offset(source, top.byte_index)}"
        )
        raise MarkdownError(msg)
    return "".join(out.parts), sort_entities(entities)


def _add_quote(entities: list[JsonDict], start: int, end: int) -> None:
    if end > start:
        entities.append({"offset": start, "length": end - start, "type": "blockquote"})


def _open(source: str, i: int, stack: list[_Open], out: _Output) -> int:
    c, nxt = source[i], source[i + 1 : i + 2]
    opened = _Open("", out.pos16, i)
    if c == "_":
        opened.type = "underline" if nxt == "_" else "italic"
        i += 2 if nxt == "_" else 1
    elif c == "*":
        opened.type, i = "bold", i + 1
    elif c == "~":
        opened.type, i = "strikethrough", i + 1
    elif c == "|" and nxt == "|":
        opened.type, i = "spoiler", i + 2
    elif c == "[":
        opened.type, i = "text_link", i + 1
    elif c == "!" and nxt == "[":
        opened.type, i = "custom_emoji", i + 2
    elif c == "`" and source.startswith("```", i):
        opened.type = "pre"
        i, opened.language = _skip_pre_start(source, i + 3)
    elif c == "`":
        opened.type, i = "code", i + 1
    else:
        raise _reserved_error(c)
    stack.append(opened)
    return i


def _close(source: str, i: int, opened: _Open, out: _Output, entities: list[JsonDict]) -> int:
    n = len(source)
    entity: JsonDict = {"offset": opened.offset, "length": out.pos16 - opened.offset}
    entity["type"] = opened.type
    if opened.type in ("underline", "spoiler"):
        i += 2
    elif opened.type == "pre":
        i += 3
        if opened.language:
            entity["language"] = opened.language
    elif opened.type in ("text_link", "custom_emoji"):
        url = ""
        i += 1
        if i < n and source[i] == "(":
            i += 1
            url_begin = i
            chars: list[str] = []
            while i < n and source[i] != ")":
                if source[i] == "\\" and i + 1 < n and 0 < ord(source[i + 1]) <= 126:
                    chars.append(source[i + 1])
                    i += 2
                    continue
                chars.append(source[i])
                i += 1
            if i >= n:
                msg = f"Can't find end of a URL at byte offset {_byte_offset(source, url_begin)}"
                raise MarkdownError(msg)
            i += 1
            url = "".join(chars)
        if opened.type == "custom_emoji":
            if not url.startswith(_EMOJI_LINK):
                msg = "Custom emoji entity must contain a tg://emoji URL"
                raise MarkdownError(msg)
            entity["custom_emoji_id"] = url.removeprefix(_EMOJI_LINK)
        elif not url:
            return i
        else:
            entity["url"] = url
    else:
        i += 1
    if entity["length"] > 0:
        entities.append(entity)
    return i


def parse_markdown(source: str) -> tuple[str, list[JsonDict]]:
    """Return the plain text and entities of a legacy Markdown-formatted message.

    Raises:
        MarkdownError: when an entity is not closed.
    """
    out = _Output()
    entities: list[JsonDict] = []
    i, n = 0, len(source)
    while i < n:
        c = source[i]
        if c == "\\" and source[i + 1 : i + 2] in ("_", "*", "`", "["):
            out.add(source[i + 1])
            i += 2
            continue
        if c not in "_*`[":
            out.add(c)
            i += 1
            continue
        begin = i
        end_char = "]" if c == "[" else c
        is_pre = source.startswith("```", i)
        language = ""
        i = _skip_pre_start(source, i + 3)[0] if is_pre else i + 1
        if is_pre:
            language = _skip_pre_start(source, begin + 3)[1]
        offset = out.pos16
        while i < n and (source[i] != end_char or (is_pre and not source.startswith("```", i))):
            out.add(source[i])
            i += 1
        if i >= n:
            where = _byte_offset(source, begin)
            msg = f"Can't find end of the entity starting at byte offset {where}"
            raise MarkdownError(msg)
        entity: JsonDict = {"offset": offset, "length": out.pos16 - offset}
        if c == "[":
            inner = source[begin + 1 : i]
            url = inner
            if source[i + 1 : i + 2] == "(":
                close = source.find(")", i + 2)
                url = source[i + 2 : close if close >= 0 else n]
                i = close if close >= 0 else n - 1
            entity["type"], entity["url"] = "text_link", url
        elif c == "`":
            entity["type"] = "pre" if is_pre else "code"
            if language:
                entity["language"] = language
        else:
            entity["type"] = "italic" if c == "_" else "bold"
        if entity["length"] > 0:
            entities.append(entity)
        i += 3 if is_pre else 1
    return "".join(out.parts), sort_entities(entities)
