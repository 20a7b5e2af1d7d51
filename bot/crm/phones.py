"""Phone numbers: parsing what people type into E.164 with the phonenumbers library."""

from __future__ import annotations

import re

import phonenumbers

from bot.errors import InvalidInput
from bot.i18n import N_

# How people write an extension after a number: "ext 12", "x12", "#12", ";ext=12", 转12, 分机 12.
EXTENSION = r"(?:ext\.?|extn\.?|extension|x|#|;ext=|转|分机)\s*\d{1,7}"
# phonenumbers reads the Latin forms itself; the Chinese words are turned into "ext".
_CHINESE_EXTENSION = re.compile(r"\s*(?:转|分机)\s*(?=\d)")
# Eight or more digits in a row (spaces, dashes and brackets allowed) are a phone, not a name.
_PHONE_LIKE = re.compile(r"\d[\d\s\-()]{6,}\d")


def looks_like_phone(text: str) -> bool:
    """Return whether ``text`` holds something written like a phone number."""
    return _PHONE_LIKE.search(text) is not None


def normalize_phone(text: str, *, region: str | None) -> str:
    """Return ``text`` as an E.164 number, reading local numbers in ``region``.

    E.164 has no extensions, and a shop calls or messages the person rather than
    a switchboard, so a number with an extension is refused with a hint.

    Raises:
        InvalidInput: when it is not a valid phone number, or has an extension.
    """
    try:
        number = phonenumbers.parse(_CHINESE_EXTENSION.sub(" ext ", text.strip()), region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput(_hint(region)) from exc
    if number.extension:
        raise InvalidInput(
            N_(
                "Phone numbers are saved without extensions. Please send the number "
                "alone, without “ext {extension}”; you can put the extension in the notes."
            ),
            extension=number.extension,
        )
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput(_hint(region))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _hint(region: str | None) -> str:
    if region:
        return N_(
            "That doesn't look like a phone number. Try e.g. 138 0013 8000 or +86 138 0013 8000."
        )
    return N_(
        "That doesn't look like a phone number. "
        "Please include the country code, e.g. +86 138 0013 8000."
    )
