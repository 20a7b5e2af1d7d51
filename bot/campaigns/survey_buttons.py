"""The satisfaction buttons under a survey campaign's message."""

from __future__ import annotations

from bot.i18n import N_, translate
from bot.messaging import Button, Keyboard

PREFIX = "sv"
# Score → label, best first; the score is what the button stores (5 = very satisfied).
LABELS = {
    5: N_("😍 Very satisfied"),
    4: N_("🙂 Satisfied"),
    3: N_("😐 Neutral"),
    2: N_("🙁 Dissatisfied"),
    1: N_("😠 Very dissatisfied"),
}


def survey_data(run_id: int, score: int) -> str:
    """Return the callback data of one answer button (well under Telegram's 64 bytes)."""
    return f"{PREFIX}:{run_id}:{score}"


def survey_keyboard(run_id: int, locale: str) -> Keyboard:
    """Return one row per answer, best first, in the recipient's language."""
    return tuple(
        (Button(translate(locale, label), survey_data(run_id, score)),)
        for score, label in LABELS.items()
    )


def score_label(score: int, locale: str) -> str:
    """Return an answer's label in ``locale`` (empty for an unknown score)."""
    label = LABELS.get(score)
    return translate(locale, label) if label else ""
