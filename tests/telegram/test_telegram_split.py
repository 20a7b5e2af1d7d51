"""Long texts: cut at line breaks, then spaces, then hard; tags kept whole and balanced."""

from __future__ import annotations

import html
import re
import struct
import zlib
from typing import Any

import pytest

from bot.messaging import Button, Messenger
from bot.telegram._split import MAX_CAPTION, MAX_TEXT, split_html, take, visible_length
from tests.telegram.helpers import Emulator

pytestmark = pytest.mark.timeout(30)

USER = 5002
TAG = re.compile(r"</?([a-z-]+)[^>]*>")


def _plain(part: str) -> str:
    return html.unescape(TAG.sub("", part))


def _balanced(part: str) -> bool:
    stack: list[str] = []
    for match in TAG.finditer(part):
        name = match.group(1)
        if match.group(0).startswith("</"):
            if not stack or stack.pop() != name:
                return False
        else:
            stack.append(name)
    return not stack


def test_a_short_text_is_one_part() -> None:
    text = "<b>Hi</b> &amp; " + "x" * (MAX_TEXT - 5)
    assert visible_length(text) == MAX_TEXT
    assert split_html(text) == [text]
    assert split_html("") == [""]


def test_cut_at_the_last_line_break_then_space_then_hard() -> None:
    lines = "\n".join(f"line {i:03} " + "a" * 20 for i in range(10))
    parts = split_html(lines, 100)
    assert all(visible_length(p) <= 100 for p in parts)
    assert "\n".join(parts) == lines
    assert all(p.startswith("line ") for p in parts)

    words = " ".join(["word"] * 60)
    parts = split_html(words, 50)
    assert all(visible_length(p) <= 50 and p.startswith("word") for p in parts)
    assert " ".join(parts) == words

    assert split_html("x" * 10, 4) == ["xxxx", "xxxx", "xx"]
    # An early line break is not worth a tiny part: the cut goes to a space near the end.
    assert split_html("ab\n" + "cd " * 20, 30)[0] == "ab\n" + ("cd " * 9).rstrip()


def test_tags_and_entities_stay_whole_and_balanced() -> None:
    link = '<a href="https://example.com/?a=1&amp;b=2">'
    text = f"<b>{'&amp;' * 30}</b> {link}{'long link text ' * 10}</a> <i>end</i>"
    parts = split_html(text, 40)
    assert len(parts) > 3
    for part in parts:
        assert visible_length(part) <= 40
        assert _balanced(part), part
        assert "&amp" not in part.replace("&amp;", "")
    assert " ".join(_plain(p) for p in parts) == _plain(text)
    # A link cut in two stays a link on both sides, with its address.
    assert sum(link in p for p in parts) >= 2


def test_emoji_count_twice_and_are_never_cut_in_half() -> None:
    parts = split_html("😀" * 5, 4)
    assert parts == ["😀😀", "😀😀", "😀"]


def test_take_returns_the_rest_reopened() -> None:
    head, rest = take("<pre>" + "line\n" * 10 + "</pre>", 22)
    assert head == "<pre>line\nline\nline\nline</pre>"
    assert rest.startswith("<pre>line") and rest.endswith("</pre>")
    assert take("short", 10) == ("short", "")
    assert take("<b>ab cd</b>\n  ", 6) == ("<b>ab cd</b>", "")
    assert take("<b>ab cd</b>", 4) == ("<b>ab</b>", "<b>cd</b>")


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 2, 2, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"".join(b"\x00" + bytes(2) for _ in range(2)))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", pixels)
        + chunk(b"IEND", b"")
    )


async def _bot_messages(emulator: Emulator, after: int = 0) -> list[dict[str, Any]]:
    return [m for m in await emulator.messages(USER) if m["from_bot"] and m["seq"] > after]


async def test_messenger_sends_a_long_text_in_parts_buttons_last(
    messenger: Messenger, emulator: Emulator
) -> None:
    await emulator.send(USER, "/start")
    text = "🔎 <b>Found</b> " + "“" + "tea " * 1500 + "”\nlast line"
    sent = await messenger.send_text(USER, text, [[Button("Open", data="o")]])
    parts = await _bot_messages(emulator)
    assert len(parts) == 2
    assert parts[-1]["message_id"] == sent.message_id
    assert not parts[0].get("reply_markup")
    assert parts[1]["reply_markup"] == {
        "inline_keyboard": [[{"text": "Open", "callback_data": "o"}]]
    }
    assert all(len(p["text"]) <= MAX_TEXT for p in parts)
    assert parts[0]["text"].startswith("🔎 Found “tea")
    assert parts[1]["text"].endswith("”\nlast line")
    assert parts[0]["entities"][0]["type"] == "bold"


async def test_messenger_edit_and_captions_go_on_in_new_messages(
    messenger: Messenger, emulator: Emulator
) -> None:
    await emulator.send(USER, "/start")
    first = await messenger.send_text(USER, "draft", [[Button("Go", data="go")]])
    await messenger.edit_text(USER, first.message_id, "word " * 1000, [[Button("Ok", data="k")]])
    edited, more = await _bot_messages(emulator)
    assert edited["message_id"] == first.message_id and edited["text"].startswith("word")
    assert not edited.get("reply_markup")
    assert more["reply_markup"] == {"inline_keyboard": [[{"text": "Ok", "callback_data": "k"}]]}
    assert len(edited["text"]) + len(more["text"]) + 1 == len(("word " * 1000).strip())

    seen = edited["seq"] if edited["seq"] > more["seq"] else more["seq"]
    caption = "<i>" + "note " * 300 + "</i>"
    photo = await messenger.send_photo(USER, _png(), caption)
    document = await messenger.send_document(USER, "a.csv", b"a,b\n", caption)
    after = await _bot_messages(emulator, seen)
    assert [m["kind"] for m in after] == ["photo", "text", "document", "text"]
    assert (after[0]["message_id"], after[2]["message_id"]) == (
        photo.message_id,
        document.message_id,
    )
    assert all(len(m["text"]) <= MAX_CAPTION for m in after if m["kind"] != "text")
    assert after[1]["entities"][0]["type"] == "italic"
    assert after[0]["text"] + " " + after[1]["text"] == ("note " * 300).strip()
