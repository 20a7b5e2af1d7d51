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


class Plural(str):
    """A message with a plural form; ``translate`` picks the form by one parameter's number.

    It is the singular text, so it goes wherever a message does (``InvalidInput``…).
    """

    plural: str
    by: str

    def __new__(cls, singular: str, plural: str, by: str = "count") -> Plural:
        message = super().__new__(cls, singular)
        message.plural = plural
        message.by = by
        return message


def P_(singular: str, plural: str, *, by: str = "count") -> Plural:  # noqa: N802 - like ngettext
    """Mark a message with singular and plural forms, chosen by its ``by`` parameter's number."""
    return Plural(singular, plural, by)


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
    catalog = _catalog(locale if locale in LOCALES else "en")
    if isinstance(message, Plural):
        text = catalog.ngettext(str(message), message.plural, _number(params.get(message.by)))
    else:
        text = catalog.gettext(message)
    if not params:
        return text
    safe = {
        k: v if isinstance(v, Raw) else html.escape(str(v), quote=False) for k, v in params.items()
    }
    return text.format(**safe)


def _number(value: object) -> int:
    """Return the number a plural form is chosen by: ``+20`` is 20, ``-1`` and ``1.0`` are 1."""
    try:
        number = abs(float(str(value).replace(",", "")))
    except ValueError:
        return 2
    return 1 if number == 1 else int(number) if number.is_integer() else 2


class Raw(str):
    """A placeholder value that is already HTML and must not be escaped again."""

    __slots__ = ()


# A command's typed keywords, in either language: each English keyword and what else
# means it. ``/help`` shows the Chinese word to a Chinese user, so both must work.
KEYWORDS: dict[str, tuple[str, ...]] = {
    "off": ("none", "no", "-", "关", "关闭", "不要"),
    "on": ("yes", "开", "开启", "打开"),
    "mine": ("my", "我的"),
    "recompute": ("refresh", "重新计算", "重算"),
    "new": ("create", "新建", "创建"),
    "add": ("添加", "加入"),
    "edit": ("change", "修改"),
    "delete": ("del", "remove", "删除"),
    "rename": ("改名", "重命名"),
    "move": ("移动", "调到"),
    "to": ("给", "转给"),
    "pool": ("the pool", "池", "公海", "线索池"),
    "staff": ("员工", "店员"),
    "admin": ("管理员",),
}
_KEYWORD_OF = {word.casefold(): key for key, words in KEYWORDS.items() for word in (key, *words)}


def keyword(text: str) -> str | None:
    """Return the English keyword ``text`` means ("关闭" → "off"), or None."""
    return _KEYWORD_OF.get(" ".join(text.split()).casefold())
