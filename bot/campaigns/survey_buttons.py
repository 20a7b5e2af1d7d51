"""The buttons under a campaign's message: the survey answers and the opt-out."""

from __future__ import annotations

from typing import Annotated

from bot.callbacks import CallbackData, Id, Int
from bot.i18n import N_, translate
from bot.messaging import Keyboard

# Score → label, best first; the score is what the button stores (5 = very satisfied).
LABELS = {
    5: N_("😍 Very satisfied"),
    4: N_("🙂 Satisfied"),
    3: N_("😐 Neutral"),
    2: N_("🙁 Dissatisfied"),
    1: N_("😠 Very dissatisfied"),
}


class SurveyScore(CallbackData, prefix="sv"):
    """A survey answer: the run that asked and the score given (1 to 5).

    ``sv:c:<answer>``, the comment on an answer, shares the prefix (``SurveyComment``
    in ``bot.handlers.complaints``); a run id is never ``c``.
    """

    run_id: Annotated[int, Id("campaign_run")]
    score: Annotated[int, Int(min(LABELS), max(LABELS))]


class OptOut(CallbackData, prefix="uo"):
    """Stop one shop's campaign messages at once."""

    workspace_id: Annotated[int, Id("workspace")]


def survey_data(run_id: int, score: int) -> str:
    """Return the callback data of one answer button (well under Telegram's 64 bytes)."""
    return SurveyScore(run_id=run_id, score=score).pack()


def survey_keyboard(run_id: int, locale: str) -> Keyboard:
    """Return one row per answer, best first, in the recipient's language."""
    return tuple(
        (SurveyScore(run_id=run_id, score=score).button(translate(locale, label)),)
        for score, label in LABELS.items()
    )


def score_label(score: int, locale: str) -> str:
    """Return an answer's label in ``locale`` (empty for an unknown score)."""
    label = LABELS.get(score)
    return translate(locale, label) if label else ""
