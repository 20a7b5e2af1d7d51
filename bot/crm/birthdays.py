"""Birthdays as people type them: ``1990-05-17``, ``17.05.1990`` or ``1990年5月17日``."""

from __future__ import annotations

import re
from datetime import date

from bot.errors import InvalidInput
from bot.i18n import N_

BIRTHDAY_HINT = N_("Please send the birthday as year-month-day, like 1990-05-17.")
_YMD = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_DMY = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")
OLDEST = 1900


def parse_birthday(text: str, *, today: date) -> date:
    """Return the date typed, which must lie between 1900 and ``today``.

    Raises:
        InvalidInput: when it is no date, or not a possible birthday.
    """
    text = text.strip()
    if match := _YMD.fullmatch(text):
        year, month, day = (int(g) for g in match.groups())
    elif match := _DMY.fullmatch(text):
        day, month, year = (int(g) for g in match.groups())
    else:
        raise InvalidInput(BIRTHDAY_HINT)
    try:
        born = date(year, month, day)
    except ValueError:
        raise InvalidInput(BIRTHDAY_HINT) from None
    if born.year < OLDEST or born > today:
        raise InvalidInput(BIRTHDAY_HINT)
    return born
