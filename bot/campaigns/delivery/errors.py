"""Delivery outcomes: what a Telegram answer means for one outbox row.

403 means the person can no longer be reached (blocked, plus a consent event);
429 closes the shared gate and the same row is retried once it opens; 5xx and
network errors are retried with backoff and count toward the run's pause
threshold; 400 is a permanent failure with Telegram's reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.errors import BadRequest, Blocked, DeliveryError, RetryAfter, TransientError

# Outbox ``reason`` is a String(200); Telegram descriptions are shorter, but be sure.
_REASON_MAX = 200


class Outcome(StrEnum):
    """What to do with a row after one send attempt."""

    SENT = "sent"
    RETRY_AFTER_GATE = "retry_after_gate"
    RETRY_WITH_BACKOFF = "retry_with_backoff"
    FAILED = "failed"
    BLOCKED = "blocked"


@dataclass(frozen=True, slots=True)
class Verdict:
    """An outcome with Telegram's reason and, for 429, how long the gate stays shut."""

    outcome: Outcome
    reason: str = ""
    retry_after: float = 0.0

    @property
    def transient(self) -> bool:
        """Return True for errors that count toward pausing the run."""
        return self.outcome is Outcome.RETRY_WITH_BACKOFF


def classify(exc: DeliveryError) -> Verdict:
    """Return what a Messenger's delivery error means for the row it was sending."""
    reason = (exc.description or type(exc).__name__)[:_REASON_MAX]
    if isinstance(exc, RetryAfter):
        return Verdict(Outcome.RETRY_AFTER_GATE, reason, float(exc.retry_after))
    if isinstance(exc, Blocked):
        return Verdict(Outcome.BLOCKED, reason)
    if isinstance(exc, BadRequest):
        return Verdict(Outcome.FAILED, reason)
    if isinstance(exc, TransientError):
        return Verdict(Outcome.RETRY_WITH_BACKOFF, reason)
    # A DeliveryError subclass added later: do not resend something we cannot judge.
    return Verdict(Outcome.FAILED, reason)
