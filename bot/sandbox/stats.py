"""Request statistics: per-method request counts, sent messages, faults and rate violations."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Stats:
    """Count what the bot asked for and what the emulator answered."""

    requests_by_method: Counter[str] = field(default_factory=Counter)
    sent_messages: int = 0
    violations_global: int = 0
    violations_per_chat: int = 0
    faults_injected: int = 0
    too_many_requests_sent: int = 0

    def to_json(self) -> dict[str, Any]:
        """Return the counters as the control API reports them."""
        return {
            "requests_by_method": dict(self.requests_by_method),
            "sent_messages": self.sent_messages,
            "violations": {"global": self.violations_global, "per_chat": self.violations_per_chat},
            "faults_injected": self.faults_injected,
            "too_many_requests_sent": self.too_many_requests_sent,
        }

    def reset(self) -> None:
        """Set every counter back to zero."""
        self.requests_by_method.clear()
        self.sent_messages = 0
        self.violations_global = 0
        self.violations_per_chat = 0
        self.faults_injected = 0
        self.too_many_requests_sent = 0
