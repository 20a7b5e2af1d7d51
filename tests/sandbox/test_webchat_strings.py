"""The web chat's own words: both dictionaries in strings.js have the same keys, all used."""

from __future__ import annotations

import re
from pathlib import Path

STATIC = Path(__file__).resolve().parents[2] / "bot" / "sandbox" / "static"
# A dictionary opens with `  en: {` or `  "zh-CN": {` and holds one `    "key": …` per entry.
DICTIONARY = re.compile(r'^  "?([\w-]+)"?: \{\n(.*?)^  \},$', re.MULTILINE | re.DOTALL)
ENTRY = re.compile(r'^    "([\w.]+)": ((?:.|\n)*?),$', re.MULTILINE)
USED_IN_SCRIPT = re.compile(r'\bt\("([\w.]+)"')
USED_IN_PAGE = re.compile(r'data-i18n(?:-[\w-]+)?="([\w.]+)"')
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _dictionaries() -> dict[str, dict[str, str]]:
    script = (STATIC / "strings.js").read_text(encoding="utf-8")
    block = script[script.index("const STRINGS = {") : script.index("\n};\n")]
    return {
        language: dict(ENTRY.findall(body)) for language, body in DICTIONARY.findall(block + "\n")
    }


def test_every_language_has_the_same_keys() -> None:
    dictionaries = _dictionaries()
    assert set(dictionaries) == {"en", "zh-CN"}
    english, chinese = dictionaries["en"], dictionaries["zh-CN"]
    assert len(english) > 50
    assert set(english) - set(chinese) == set(), "missing in Chinese"
    assert set(chinese) - set(english) == set(), "missing in English"
    for key, text in english.items():
        assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(chinese[key])), key


def test_every_key_is_used_and_every_used_key_exists() -> None:
    keys = set(_dictionaries()["en"])
    script = (STATIC / "app.js").read_text(encoding="utf-8")
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    used = set(USED_IN_SCRIPT.findall(script)) | set(USED_IN_PAGE.findall(page))
    assert used - keys == set(), "used but not defined"
    assert keys - used == set(), "defined but never used"


def test_chinese_uses_the_polite_register() -> None:
    chinese = _dictionaries()["zh-CN"]
    assert not [key for key, text in chinese.items() if "你" in text]
    assert any("您" in text for text in chinese.values())
