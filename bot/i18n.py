"""Translations: gettext catalogs read with Babel, one translator per locale.

Message ids are the English text. Placeholders use ``str.format`` names and
their values are HTML-escaped, because every message is sent in HTML parse mode.
"""

from __future__ import annotations

import html
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALES = ("en", "zh-CN")
LOCALE_DIR = Path(__file__).parent / "locales"
LANGUAGE_NAMES = {"en": "English", "zh-CN": "简体中文"}


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext marker name
    """Mark a message id for extraction without translating it here."""
    return message


def normalize_locale(code: str | None, default: str = "en") -> str:
    """Map a Telegram ``language_code`` (``zh-hans``, ``zh``, ``en-US``…) to a supported locale."""
    if not code:
        return default
    code = code.replace("_", "-").lower()
    if code.startswith("zh"):
        return "zh-CN"
    if code.startswith("en"):
        return "en"
    return default


@cache
def _catalog(locale: str) -> NullTranslations:
    if locale == "en":
        return NullTranslations()
    po_path = LOCALE_DIR / locale.replace("-", "_") / "LC_MESSAGES" / "messages.po"
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file, locale=locale.replace("-", "_"))
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


def translate(locale: str, message: str, /, **params: object) -> str:
    """Translate ``message`` into ``locale`` and fill its placeholders, HTML-escaped."""
    text = _catalog(locale if locale in LOCALES else "en").gettext(message)
    if not params:
        return text
    safe = {
        k: v if isinstance(v, Raw) else html.escape(str(v), quote=False) for k, v in params.items()
    }
    return text.format(**safe)


class Raw(str):
    """A placeholder value that is already HTML and must not be escaped again."""

    __slots__ = ()
