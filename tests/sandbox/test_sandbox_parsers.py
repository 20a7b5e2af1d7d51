"""The HTML and Markdown parse modes, entity helpers and image sniffing, without a server."""

from __future__ import annotations

import pytest

from bot.sandbox.entities import detect_entities, strip_text, utf16_len
from bot.sandbox.formatting import format_text
from bot.sandbox.html import HtmlError, parse_html
from bot.sandbox.images import probe_image
from bot.sandbox.markdown import MarkdownError, parse_markdown, parse_markdown_v2

from .helpers import make_png


def test_all_supported_html_tags() -> None:
    text, entities = parse_html(
        "<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>n</ins><s>s</s>"
        "<strike>k</strike><del>d</del><tg-spoiler>p</tg-spoiler>"
        '<span class="tg-spoiler">q</span><code>c</code>'
        '<pre><code class="language-python">x = 1</code></pre><pre>raw</pre>'
        "<blockquote>q</blockquote><blockquote expandable>e</blockquote>"
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>'
    )
    assert text == "bsieunskdpqcx = 1rawqe👍"
    types = [(e["type"], e.get("language")) for e in entities]
    assert types == [
        ("bold", None),
        ("bold", None),
        ("italic", None),
        ("italic", None),
        ("underline", None),
        ("underline", None),
        ("strikethrough", None),
        ("strikethrough", None),
        ("strikethrough", None),
        ("spoiler", None),
        ("spoiler", None),
        ("code", None),
        ("pre", "python"),
        ("pre", None),
        ("blockquote", None),
        ("expandable_blockquote", None),
        ("custom_emoji", None),
    ]
    assert entities[-1]["custom_emoji_id"] == "5368324170671202286"


def test_html_entities_and_nesting() -> None:
    text, entities = parse_html("<b>a <i>&lt;b&gt;</i></b> &quot;&#65;&#x42;&amp&nbsp;")
    assert text == 'a <b> "AB&&nbsp;'
    assert entities == [
        {"offset": 0, "length": 5, "type": "bold"},
        {"offset": 2, "length": 3, "type": "italic"},
    ]


def test_html_attributes_and_case() -> None:
    text, entities = parse_html("<B>x</B><A HREF='https://a.b/?q=1&amp;r=2'>l</A><a>t.me</a>")
    assert text == "xlt.me"
    assert entities[1]["url"] == "https://a.b/?q=1&r=2"
    assert entities[2] == {"offset": 2, "length": 4, "type": "text_link", "url": "t.me"}


def test_html_text_mention_for_known_user() -> None:
    user = {"id": 5, "is_bot": False, "first_name": "Ann"}
    _, entities = parse_html(
        '<a href="tg://user?id=5">Ann</a>', lambda uid: user if uid == 5 else None
    )
    assert entities == [{"offset": 0, "length": 3, "type": "text_mention", "user": user}]


def test_html_empty_entities_are_dropped() -> None:
    assert parse_html("<b></b>x") == ("x", [])


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("<b", "Unclosed start tag at byte offset 0"),
        ('<a href=x"y">x</a>', "Unexpected end of name token at byte offset 8"),
        (
            "<a href>x</a>",
            'Expected equal sign in declaration of an attribute of the tag "a" at byte offset 0',
        ),
        ("<b>x</b", "Unclosed end tag at byte offset 4"),
        ("中<i>x", 'Can\'t find end tag corresponding to start tag "i"'),
        ("中<q>", 'Unsupported start tag "q" at byte offset 3'),
    ],
)
def test_html_errors(source: str, message: str) -> None:
    with pytest.raises(HtmlError) as caught:
        parse_html(source)
    assert str(caught.value) == message


def test_markdown_v2_entities() -> None:
    text, entities = parse_markdown_v2(
        "*b* _i_ __u__ ~s~ ||p|| `c` ```py\nx```\n>quote\n[t](https://x.y) \\*"
    )
    assert text == "b i u s p c x\nquote\nt *"
    kinds = [e["type"] for e in entities]
    assert kinds == [
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "code",
        "pre",
        "blockquote",
        "text_link",
    ]
    pre = entities[6]
    assert pre["language"] == "py"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("a.b", "Character '.' is reserved and must be escaped with the preceding '\\'"),
        ("*bold", "Can't find end of Bold entity at byte offset 0"),
        ("[x](http://a", "Can't find end of a URL at byte offset 4"),
    ],
)
def test_markdown_v2_errors(source: str, message: str) -> None:
    with pytest.raises(MarkdownError) as caught:
        parse_markdown_v2(source)
    assert str(caught.value) == message


def test_legacy_markdown() -> None:
    text, entities = parse_markdown("*b* _i_ `c` [t](http://x.y)")
    assert text == "b i c t"
    assert [e["type"] for e in entities] == ["bold", "italic", "code", "text_link"]
    with pytest.raises(MarkdownError, match="byte offset 0"):
        parse_markdown("*open")


def test_utf16_and_strip() -> None:
    assert utf16_len("a😀中") == 4
    text, entities = strip_text("\n 😀x ", [{"offset": 2, "length": 3, "type": "bold"}])
    assert text == "😀x"
    assert entities == [{"offset": 0, "length": 3, "type": "bold"}]


def test_detected_entities() -> None:
    found = detect_entities("see /help@Bot, https://a.b/c. mail a@b.io #tag @someone 50/50")
    assert [(f["type"], f["offset"], f["length"]) for f in found] == [
        ("bot_command", 4, 9),
        ("url", 15, 13),
        ("email", 35, 6),
        ("hashtag", 42, 4),
        ("mention", 47, 8),
    ]
    assert detect_entities("x", [{"offset": 0, "length": 1, "type": "code"}]) == []


def test_format_text_prefers_parse_mode_over_entities() -> None:
    formatted = format_text("<b>x</b>", "HTML", [{"type": "italic", "offset": 0, "length": 1}])
    assert formatted.entities == [{"offset": 0, "length": 1, "type": "bold"}]


def test_probe_images() -> None:
    png = probe_image(make_png(3, 2))
    assert png is not None
    assert (png.mime_type, png.width, png.height) == ("image/png", 3, 2)
    jpeg = probe_image(
        b"\xff\xd8\xff\xe0\x00\x04ab\xff\xc0\x00\x11\x08\x00\x20\x00\x40\x03" + b"\x00" * 20
    )
    assert jpeg is not None
    assert (jpeg.mime_type, jpeg.width, jpeg.height) == ("image/jpeg", 64, 32)
    gif = probe_image(b"GIF89a\x05\x00\x07\x00" + b"\x00" * 10)
    assert gif is not None
    assert (gif.width, gif.height) == (5, 7)
    from bot.sandbox.media import STICKER_WEBP

    webp = probe_image(STICKER_WEBP)
    assert webp is not None
    assert (webp.mime_type, webp.width, webp.height) == ("image/webp", 1, 1)
    assert probe_image(b"hello") is None
