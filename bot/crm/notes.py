"""Notes typed beside a purchase, a points change or a spend: one tidy line, bounded."""

from __future__ import annotations

from bot.errors import InvalidInput
from bot.i18n import N_


def clean_note(note: str | None, *, most: int) -> str | None:
    """Return the note on one line with single spaces, or None when it is blank.

    Raises:
        InvalidInput: when it is longer than ``most`` characters.
    """
    text = " ".join((note or "").split()) or None
    if text and len(text) > most:
        raise InvalidInput(N_("Please keep the note under {max} characters."), max=most)
    return text
