"""Long texts: cutting HTML into parts within Telegram's limits, and sending them in order.

Telegram refuses a text over 4,096 characters and a caption over 1,024, counted
after entity parsing. Lengths here are counted the same way but conservatively:
tags count nothing, an entity such as ``&amp;`` one character, and characters
outside the Basic Multilingual Plane (most emoji) two, as UTF-16 has them.

A part ends at the last line break in its second half, else at the last space
there, else where the limit falls. No cut lands inside a tag or an entity; tags
open at the cut are closed at the end of the part and opened again, with their
attributes, at the start of the next, so each part is valid HTML on its own.
"""

from __future__ import annotations

import html
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.messaging import Keyboard, SentMessage

MAX_TEXT = 4096
MAX_CAPTION = 1024

_MARKUP = re.compile(
    r"(?P<tag></?(?P<name>[a-zA-Z][a-zA-Z0-9-]*)(?:\s[^<>]*)?>)"
    r"|(?P<entity>&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[a-zA-Z][a-zA-Z0-9]*);)"
)
_BREAKS = ("\n", " ")

SendPart = Callable[[str, Keyboard], Awaitable[SentMessage]]
EditFirst = Callable[[str, Keyboard], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class _Token:
    """A character, an entity or a tag of the text; ``size`` is what it counts for."""

    raw: str
    size: int
    tag: str | None = None
    closing: bool = False


def _units(text: str) -> int:
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    for match in _MARKUP.finditer(text):
        tokens.extend(_Token(ch, _units(ch)) for ch in text[pos : match.start()])
        raw = match.group(0)
        if match.group("tag"):
            tokens.append(_Token(raw, 0, match.group("name").lower(), raw.startswith("</")))
        else:
            tokens.append(_Token(raw, _units(html.unescape(raw))))
        pos = match.end()
    tokens.extend(_Token(ch, _units(ch)) for ch in text[pos:])
    return tokens


def visible_length(text: str) -> int:
    """Return how long an HTML text counts for Telegram (conservatively, see the module)."""
    return sum(t.size for t in _tokens(text))


def take(text: str, limit: int) -> tuple[str, str]:
    """Return the longest head of ``text`` within ``limit`` and the rest ("" when none).

    Both are valid HTML on their own when ``text`` is.
    """
    tokens = _tokens(text)
    end, size = 0, 0
    while end < len(tokens) and size + tokens[end].size <= limit:
        size += tokens[end].size
        end += 1
    if end == len(tokens):
        return text, ""
    cut, resume = _cut(tokens, end, size, limit)
    head = tokens[:cut]
    # Keep the opening tags still open at the cut (the closing tags pop them).
    stack: list[_Token] = []
    for token in head:
        if token.tag is None:
            continue
        if not token.closing:
            stack.append(token)
            continue
        for i in range(len(stack) - 1, -1, -1):
            if stack[i].tag == token.tag:
                del stack[i]
                break
    head_text = "".join(t.raw for t in head) + "".join(f"</{t.tag}>" for t in reversed(stack))
    # The next part starts at its first visible character: breaks and tags that close
    # right at the cut are dropped instead of leaving an empty line or an empty tag.
    reopen = list(stack)
    rest = tokens[resume:]
    while rest:
        first = rest[0]
        if first.raw in _BREAKS:
            rest = rest[1:]
        elif first.closing and reopen and reopen[-1].tag == first.tag:
            reopen.pop()
            rest = rest[1:]
        else:
            break
    if not any(t.size and not t.raw.isspace() for t in rest):
        return head_text, ""
    return head_text, "".join(t.raw for t in reopen) + "".join(t.raw for t in rest)


def _cut(tokens: list[_Token], end: int, size: int, limit: int) -> tuple[int, int]:
    """Return where the head ends and where the rest starts (after a dropped break)."""
    for mark in _BREAKS:
        seen = size
        for i in range(end - 1, -1, -1):
            seen -= tokens[i].size
            if seen < limit // 2:
                break
            if tokens[i].raw == mark:
                return i, i + 1
    cut = end
    # A hard cut right after opening tags moves them to the next part, where their text is.
    while cut > 1 and tokens[cut - 1].tag is not None and not tokens[cut - 1].closing:
        cut -= 1
    return cut, cut


def split_html(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Return ``text`` as parts of at most ``limit`` characters each, in order."""
    # Nothing counts for more than its own UTF-16 units (tags nothing, an entity less), so
    # a text within the limit as written is whole; most replies end here, untokenised.
    if len(text) * 2 <= limit or len(text.encode("utf-16-le")) // 2 <= limit:
        return [text]
    parts: list[str] = []
    rest = text
    while rest:
        head, after = take(rest, limit)
        if after == rest:  # no progress: never expected, but never loop forever
            parts.append(rest)
            break
        parts.append(head)
        rest = after
    return parts or [text]


async def send_split(send: SendPart, text: str, buttons: Keyboard) -> SentMessage:
    """Send ``text`` as one message per part, the buttons under the last; return the last."""
    parts = split_html(text)
    for part in parts[:-1]:
        await send(part, ())
    return await send(parts[-1], buttons)


async def edit_split(edit: EditFirst, send: SendPart, text: str, buttons: Keyboard) -> None:
    """Edit a message to the first part of ``text`` and send the rest as new messages."""
    head, rest = take(text, MAX_TEXT)
    if not rest:
        await edit(head, buttons)
        return
    await edit(head, ())
    await send_split(send, rest, buttons)
