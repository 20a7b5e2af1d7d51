"""Classifying Telegram's answers into what happens to an outbox row."""

from __future__ import annotations

import pytest

from bot.campaigns.delivery.errors import Outcome, classify
from bot.errors import BadRequest, Blocked, DeliveryError, RetryAfter, TransientError


@pytest.mark.parametrize(
    ("error", "outcome", "transient"),
    [
        (Blocked("Forbidden: bot was blocked by the user"), Outcome.BLOCKED, False),
        (RetryAfter("Too Many Requests: retry after 2", 2), Outcome.RETRY_AFTER_GATE, False),
        (TransientError("Bad Gateway"), Outcome.RETRY_WITH_BACKOFF, True),
        (BadRequest("Bad Request: message is too long"), Outcome.FAILED, False),
        (DeliveryError("something new"), Outcome.FAILED, False),
    ],
)
def test_each_error_gets_its_outcome(
    error: DeliveryError, outcome: Outcome, transient: bool
) -> None:
    verdict = classify(error)
    assert verdict.outcome is outcome
    assert verdict.transient is transient
    assert verdict.reason == error.description


def test_retry_after_carries_the_wait() -> None:
    assert classify(RetryAfter("Too Many Requests", 7)).retry_after == 7.0


def test_reason_fits_the_column() -> None:
    assert len(classify(BadRequest("x" * 500)).reason) == 200
