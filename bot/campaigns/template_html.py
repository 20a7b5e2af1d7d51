"""Telegram HTML: whether a text's markup is what the Bot API's HTML parse mode accepts.

Telegram knows a handful of tags (b, i, u, s, a href, code, pre, blockquote,
tg-spoiler and their aliases), the entities ``&lt; &gt; &amp; &quot;`` and numeric
ones, and refuses the whole message on anything else. Checking with the stdlib
parser before saving means a campaign never meets that refusal at send time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

from bot.i18n import N_

TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "a",
        "code",
        "pre",
        "blockquote",
        "tg-spoiler",
        "span",
    }
)
ATTRIBUTES: dict[str, frozenset[str]] = {
    "a": frozenset({"href"}),
    "code": frozenset({"class"}),
    "blockquote": frozenset({"expandable"}),
    "span": frozenset({"class"}),
}
ENTITIES = frozenset({"lt", "gt", "amp", "quot"})
MAX_CODE_POINT = 0x10FFFF


@dataclass(frozen=True, slots=True)
class Problem:
    """What is wrong with the markup: a message id and its placeholders."""

    key: str
    params: dict[str, object] = field(default_factory=dict)


class _Stop(Exception):
    """Raised inside the parser at the first problem."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.key)
        self.problem = problem


def check(text: str) -> Problem | None:
    """Return the first markup problem of ``text`` for Telegram, or None when it is valid."""
    parser = _Checker()
    try:
        parser.feed(text)
        parser.close()
        parser.finish()
    except _Stop as stop:
        return stop.problem
    return None


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.open: list[str] = []

    def _fail(self, key: str, **params: object) -> None:
        raise _Stop(Problem(key, params))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in TAGS:
            self._fail(
                N_(
                    "{tag} isn't a tag Telegram understands. "
                    "Use b, i, u, s, a, code, pre, blockquote or tg-spoiler."
                ),
                tag=f"<{tag}>",
            )
        allowed = ATTRIBUTES.get(tag, frozenset())
        values = dict(attrs)
        for name in values:
            if name not in allowed:
                self._fail(N_("{tag} can't have “{attribute}”."), tag=f"<{tag}>", attribute=name)
        if tag == "a" and not (values.get("href") or "").strip():
            self._fail(N_("A link needs an address, like {example}."), example=_LINK_EXAMPLE)
        if tag == "span" and values.get("class") != "tg-spoiler":
            self._fail(N_("{tag} is only for spoilers: {example}."), tag="<span>", example=_SPAN)
        if (
            tag == "code"
            and "class" in values
            and not (values["class"] or "").startswith("language-")
        ):
            self._fail(N_("{tag} can't have “{attribute}”."), tag="<code>", attribute="class")
        self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._fail(
            N_(
                "{tag} isn't a tag Telegram understands. "
                "Use b, i, u, s, a, code, pre, blockquote or tg-spoiler."
            ),
            tag=f"<{tag}/>",
        )

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            if tag in self.open:
                self._fail(
                    N_("Close {tag} first: tags close in the reverse order they open."),
                    tag=f"</{self.open[-1]}>",
                )
            self._fail(N_("{tag} closes a tag that was never opened."), tag=f"</{tag}>")
        self.open.pop()

    def handle_data(self, data: str) -> None:
        if "<" in data or "&" in data:
            self._fail(_ESCAPE, **_ESCAPE_PARAMS)

    def handle_entityref(self, name: str) -> None:
        if name not in ENTITIES:
            self._fail(_ESCAPE, **_ESCAPE_PARAMS)

    def handle_charref(self, name: str) -> None:
        digits, base = (name[1:], 16) if name[:1] in ("x", "X") else (name, 10)
        try:
            code = int(digits, base)
        except ValueError:
            code = -1
        if not 0 < code < MAX_CODE_POINT or 0xD800 <= code <= 0xDFFF:
            self._fail(_ESCAPE, **_ESCAPE_PARAMS)

    def handle_comment(self, data: str) -> None:
        self._fail(N_("Telegram messages can't contain HTML comments."))

    # Declarations and processing instructions are comments as far as a reader can tell.
    handle_pi = unknown_decl = handle_comment

    def handle_decl(self, decl: str) -> None:
        self.handle_comment(decl)

    def finish(self) -> None:
        if self.open:
            self._fail(N_("{tag} is opened but never closed."), tag=f"<{self.open[-1]}>")


_ESCAPE = N_("In the text, write {escaped_lt} for {lt} and {escaped_amp} for {amp}.")
_ESCAPE_PARAMS: dict[str, object] = {
    "escaped_lt": "&lt;",
    "lt": "<",
    "escaped_amp": "&amp;",
    "amp": "&",
}
_LINK_EXAMPLE = '<a href="https://example.com">text</a>'
_SPAN = '<span class="tg-spoiler">…</span>'
