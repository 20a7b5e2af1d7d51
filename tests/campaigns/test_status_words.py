"""One function names what a campaign run is doing, from its status and its rows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.campaigns.run_status import RunWord, Waiting, status_word
from bot.crm.models import RunStatus

MORNING = datetime(2026, 12, 4, 1, 0, tzinfo=UTC)


def counts(total: int = 2, pending: int = 0, sending: int = 0, sent: int = 0) -> dict[str, object]:
    return {"total": total, "pending": pending, "sending": sending, "sent": sent}


@pytest.mark.parametrize(
    ("run_status", "word"),
    [
        (RunStatus.STOPPED, RunWord.STOPPED),
        (RunStatus.FINISHED, RunWord.FINISHED),
        (RunStatus.PAUSED, RunWord.PAUSED),
    ],
)
def test_a_run_that_is_not_running_says_its_own_status(
    run_status: RunStatus, word: RunWord
) -> None:
    held = Waiting(due=0, later=2, earliest=MORNING, quiet_hours=True)
    assert status_word(run_status, counts(pending=2), held).word is word


def test_a_run_whose_rows_all_wait_for_the_morning_is_held_until_then() -> None:
    state = status_word(
        RunStatus.RUNNING, counts(pending=2), Waiting(later=2, earliest=MORNING, quiet_hours=True)
    )
    assert (state.word, state.held_until, state.quiet_hours) == (RunWord.HELD, MORNING, True)
    assert state.to_json() == {
        "state": "held",
        "held_until": MORNING.isoformat(),
        "held_by": "quiet_hours",
    }


def test_a_run_with_rows_due_or_in_flight_is_not_held() -> None:
    some_due = Waiting(due=1, later=1, earliest=MORNING, quiet_hours=True)
    assert status_word(RunStatus.RUNNING, counts(pending=2), some_due).word is RunWord.QUEUED
    in_flight = Waiting(later=1, earliest=MORNING, quiet_hours=True)
    state = status_word(RunStatus.RUNNING, counts(pending=1, sending=1), in_flight)
    assert state.word is RunWord.SENDING


def test_a_running_run_is_queued_until_its_first_message_is_taken_then_sending() -> None:
    assert status_word(RunStatus.RUNNING, counts(total=0), Waiting()).word is RunWord.QUEUED
    assert status_word(RunStatus.RUNNING, counts(pending=2), Waiting(due=2)).word is RunWord.QUEUED
    state = status_word(RunStatus.RUNNING, counts(pending=1, sent=1), Waiting(due=1))
    assert state.word is RunWord.SENDING
    assert state.to_json() == {"state": "sending", "held_until": None, "held_by": None}
