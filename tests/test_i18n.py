"""Translations: every message in the code has a complete Chinese translation."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.i18n import LOCALE_DIR, normalize_locale, translate

ROOT = Path(__file__).resolve().parents[1]
PLACEHOLDER = re.compile(r"\{(\w+)\}")
TAG = re.compile(r"</?\w+>")


def _source_messages() -> set[str]:
    found = extract_from_dir(
        str(ROOT / "bot"), keywords={"N_": None}, comment_tags=(), strip_comment_tags=True
    )
    return {str(message) for _, _, message, _, _ in found}


def test_every_message_is_translated_to_chinese() -> None:
    with (LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po)
    translated = {m.id: m.string for m in catalog if m.id and m.string and not m.fuzzy}
    missing = sorted(_source_messages() - set(translated))
    assert missing == [], f"untranslated: {missing}"
    for msgid, msgstr in translated.items():
        assert set(PLACEHOLDER.findall(msgid)) == set(PLACEHOLDER.findall(str(msgstr))), msgid
        assert sorted(TAG.findall(msgid)) == sorted(TAG.findall(str(msgstr))), msgid


def test_placeholders_are_escaped_for_html() -> None:
    text = translate(
        "en",
        "Thanks, {name}! Your work phone number? Send /skip to leave it empty.",
        name="<b>Bob</b> & co",
    )
    assert "&lt;b&gt;Bob&lt;/b&gt; &amp; co" in text
    assert translate("zh-CN", "There's nothing to cancel.") != "There's nothing to cancel."


def test_telegram_language_codes_map_to_supported_locales() -> None:
    assert normalize_locale("zh-hans") == "zh-CN"
    assert normalize_locale("zh-TW") == "zh-CN"
    assert normalize_locale("en-US") == "en"
    assert normalize_locale("de", default="zh-CN") == "zh-CN"
    assert normalize_locale(None) == "en"
