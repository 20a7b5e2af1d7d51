"""Phone numbers: parsing what people type into E.164 with the phonenumbers library."""

from __future__ import annotations

import phonenumbers

from bot.errors import InvalidInput
from bot.i18n import N_


def normalize_phone(text: str, *, region: str | None) -> str:
    """Return ``text`` as an E.164 number, reading local numbers in ``region``.

    Raises:
        InvalidInput: when it is not a valid phone number.
    """
    try:
        number = phonenumbers.parse(text.strip(), region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput(_hint(region)) from exc
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
