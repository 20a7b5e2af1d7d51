"""Names people type (customers, companies, display names): one check for what a name may hold.

Control characters (NUL, escape, delete and the C1 range), lone surrogates and the
bidirectional overrides that make text read backwards are refused with a friendly
reply rather than silently dropped, so nothing hidden is stored or shown to anyone
else. Tabs and line breaks count as spaces, and zero-width spaces and byte-order
marks pasted from other apps are dropped. Joiners stay: emoji sequences and some
scripts need them.
"""

from __future__ import annotations

import unicodedata

from bot.errors import InvalidInput
from bot.i18n import N_

_SPACES = frozenset("\t\n\r")
_DROPPED = frozenset("\u200b\u2060\ufeff")
_BIDI_CONTROLS = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))
NAME_HINT = N_("Please send a name, like Wang Li.")


def is_forbidden(ch: str) -> bool:
    """Return whether a character may not appear in a name."""
    if ch in _SPACES:
        return False
    return unicodedata.category(ch) in ("Cc", "Cs") or ch in _BIDI_CONTROLS


def check_name_text(text: str) -> None:
    """Refuse text with characters no name may hold.

    Raises:
        InvalidInput: when it has a control character.
    """
    if any(is_forbidden(ch) for ch in text):
        raise InvalidInput(
            N_(
                "That name has a hidden control character in it. "
                "Please type it again with letters, digits and spaces."
            )
        )


def clean_name(text: str, *, max_length: int, hint: str = NAME_HINT) -> str:
    """Return a name with single spaces and no invisible characters.

    ``hint`` is the message id shown for an empty name or a command.

    Raises:
        InvalidInput: when it has a control character, is empty, a command, or too long.
    """
    check_name_text(text)
    name = " ".join("".join(ch for ch in text if ch not in _DROPPED).split())
    if not name or name.startswith("/"):
        raise InvalidInput(hint)
    if len(name) > max_length:
        raise InvalidInput(
            N_("That name is {length} characters long; please keep it under {max}."),
            length=len(name),
            max=max_length,
        )
    return name
