"""Formatted text: apply a parse mode or explicit entities the way the Bot API does.

As in the Bot API server, ``parse_mode`` wins over an ``entities`` parameter; the
result is stripped of surrounding white space and gets Telegram's automatically
detected entities (commands, mentions, hashtags, URLs, e-mail addresses).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.sandbox.entities import (
    detect_entities,
    normalize_entities,
    sort_entities,
    strip_text,
)
from bot.sandbox.errors import ApiError
from bot.sandbox.html import HtmlError, UserLookup, parse_html
from bot.sandbox.markdown import MarkdownError, parse_markdown, parse_markdown_v2

JsonDict = dict[str, Any]

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_HOST_ONLY = re.compile(r"^(https?://[^/?#]+)$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Formatted:
    """Plain text and its entities, as a Telegram client receives them."""

    text: str
    entities: list[JsonDict]


def normalize_url(url: str) -> str | None:
    """Return ``url`` as Telegram stores it, or None when it is not a usable link."""
    url = url.strip()
    if not url or any(c.isspace() for c in url):
        return None
    if _SCHEME.match(url) is None:
        url = f"http://{url}"
    if _HOST_ONLY.match(url):
        url += "/"
    return url


def format_text(
    text: str,
    parse_mode: str | None,
    raw_entities: object | None,
    lookup_user: UserLookup | None = None,
) -> Formatted:
    """Return the plain text and entities a message with these parameters gets.

    Raises:
        ApiError: 400 for an unknown parse mode or markup that cannot be parsed.
    """
    mode = (parse_mode or "").strip().lower()
    entities: list[JsonDict]
    if mode in ("", "none"):
        entities = []
        if raw_entities is not None:
            normalized = normalize_entities(raw_entities, text)
            if normalized is None:
                raise ApiError(400, "Bad Request: can't parse entities JSON object")
            entities = normalized
        plain = text
    else:
        plain, entities = _parse(text, mode, lookup_user)
    entities = _fix_links(entities)
    plain, entities = strip_text(plain, entities)
    detected = detect_entities(plain, entities)
    if detected:
        entities = sort_entities(entities + detected)
    return Formatted(plain, entities)


def _parse(text: str, mode: str, lookup_user: UserLookup | None) -> tuple[str, list[JsonDict]]:
    try:
        if mode == "html":
            return parse_html(text, lookup_user)
        if mode == "markdownv2":
            return parse_markdown_v2(text)
        if mode == "markdown":
            return parse_markdown(text)
    except (HtmlError, MarkdownError) as exc:
        raise ApiError(400, f"Bad Request: can't parse entities: {exc}") from None
    raise ApiError(400, "Bad Request: unsupported parse_mode")


def _fix_links(entities: list[JsonDict]) -> list[JsonDict]:
    if not any(e["type"] == "text_link" for e in entities):
        return entities
    fixed: list[JsonDict] = []
    for entity in entities:
        if entity["type"] == "text_link":
            url = normalize_url(str(entity.get("url", "")))
            if url is None:
                continue
            entity = {**entity, "url": url}
        fixed.append(entity)
    return fixed
