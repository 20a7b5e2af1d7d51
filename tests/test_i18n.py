"""Translations: every message in the code has a complete Chinese translation."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.i18n import LOCALE_DIR, P_, normalize_locale, translate

ROOT = Path(__file__).resolve().parents[1]
PLACEHOLDER = re.compile(r"\{(\w+)\}")
# The HTML tags Telegram formats; "<id>" in a usage line is text, shown escaped.
TAG = re.compile(r"</?(?:b|i|u|s|code|pre|a|tg-spoiler|blockquote)\b[^>]*>")


KEYWORDS = {"N_": None, "P_": (1, 2)}
# "{name} <word>s" where the word is a verb or the number is never one.
COUNTED = re.compile(r"\{(\w+)\}(?:</b>)? ([a-z]+s)\b")
NEVER_ONE = {"limit", "length", "rate", "grade", "seconds"}
VERBS = {"as", "is", "has", "was", "does", "says", "gets", "takes", "keeps", "closes", "this"}


def _source_messages() -> set[str | tuple[str, ...]]:
    found = extract_from_dir(
        str(ROOT / "bot"), keywords=KEYWORDS, comment_tags=(), strip_comment_tags=True
    )
    return {m if isinstance(m, str) else tuple(m) for _, _, m, _, _ in found}


def test_every_message_is_translated_to_chinese() -> None:
    with (LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po)
    translated = {m.id: m.string for m in catalog if m.id and m.string and not m.fuzzy}
    missing = sorted(map(str, _source_messages() - set(translated)))
    assert missing == [], f"untranslated: {missing}"
    for msgid, msgstr in translated.items():
        ids = [msgid] if isinstance(msgid, str) else list(msgid)
        forms = [msgstr] if isinstance(msgstr, str) else list(msgstr)
        for form in forms:
            assert form, msgid
            assert set(PLACEHOLDER.findall(ids[-1])) == set(PLACEHOLDER.findall(form)), msgid
            assert sorted(TAG.findall(ids[-1])) == sorted(TAG.findall(form)), msgid


def test_counted_words_take_the_catalogs_plural_forms() -> None:
    """ "in 1 purchases": a message counting something is written with P_(one, many)."""
    singular_only = [m for m in _source_messages() if isinstance(m, str)]
    counted = sorted(
        message
        for message in singular_only
        for name, word in COUNTED.findall(message)
        if name not in NEVER_ONE
        and word not in VERBS
        and not name.endswith("_id")
        and not name.startswith("max")
    )
    assert counted == [], "\n".join(counted)


def test_plural_forms_follow_the_count() -> None:
    message = P_("{count} customer", "{count} customers")
    assert translate("en", message, count=1) == "1 customer"
    assert translate("en", message, count=4) == "4 customers"


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
