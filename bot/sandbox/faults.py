"""Fault injection rules and strict-mode flood control for Bot API requests.

A fault rule matches a method (or ``*``) and optionally a chat; while it has uses
left (``times``, None for unlimited) and its ``probability`` draw succeeds, the
request waits ``latency_ms`` and then either runs normally (no ``error_code``) or
is answered with the error in Telegram's format without taking effect.

Strict mode enforces Telegram's broadcasting limits on message-sending methods
over sliding one-second windows: ``global_per_second`` messages in total (1000
for requests with ``allow_paid_broadcast``) and ``chat_per_second`` per chat.
"""

from __future__ import annotations

import random
import time
from collections import deque
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.sandbox.errors import ApiError, ControlError, too_many_requests

JsonDict = dict[str, Any]

FAULT_CODES = {
    400: "Bad Request: injected fault",
    403: "Forbidden: bot was blocked by the user",
    429: "",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}
PAID_BROADCAST_PER_SECOND = 1000
_WINDOW = 1.0


@dataclass(slots=True)
class FaultRule:
    """One injected fault."""

    id: int
    method: str
    error_code: int | None
    description: str | None
    retry_after: int
    chat_id: int | None
    times: int | None
    probability: float
    latency_ms: int
    hits: int = 0

    def matches(self, method_key: str, chat_id: int | None) -> bool:
        """Return True when this rule applies to the method and chat."""
        if self.method not in ("*", method_key):
            return False
        return self.chat_id is None or self.chat_id == chat_id

    def error(self) -> ApiError | None:
        """Return the error to answer with, or None for a latency-only rule."""
        if self.error_code is None:
            return None
        if self.error_code == 429:
            error = too_many_requests(self.retry_after)
            if self.description:
                error.description = self.description
            return error
        return ApiError(self.error_code, self.description or FAULT_CODES[self.error_code])

    def to_json(self) -> JsonDict:
        """Return the rule for the control API."""
        return {
            "id": self.id,
            "method": self.method,
            "error_code": self.error_code,
            "description": self.description,
            "retry_after": self.retry_after if self.error_code == 429 else None,
            "chat_id": self.chat_id,
            "times": self.times,
            "probability": self.probability,
            "latency_ms": self.latency_ms,
            "hits": self.hits,
        }


def _number(body: JsonDict, name: str, default: float | None) -> float | None:
    value = body.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ControlError(400, f"'{name}' must be a number")
    return float(value)


class FaultBook:
    """Hold the active fault rules and decide which one a request hits."""

    def __init__(self) -> None:
        self.rules: list[FaultRule] = []
        self._next_id = 1
        # Faults are test scenarios, not security: a seedable pseudo-random generator.
        self._rng = random.Random()  # noqa: S311

    def add(self, body: JsonDict) -> FaultRule:
        """Create a rule from a control API request body.

        Raises:
            ControlError: 400 when a field is invalid.
        """
        method = body.get("method", "*")
        if not isinstance(method, str) or not method:
            raise ControlError(400, "'method' must be a method name or '*'")
        code = body.get("error_code")
        if code is not None and code not in FAULT_CODES:
            raise ControlError(400, f"'error_code' must be one of {sorted(FAULT_CODES)}")
        latency = _number(body, "latency_ms", 0) or 0.0
        if code is None and latency <= 0:
            raise ControlError(400, "a fault needs an 'error_code' or a 'latency_ms'")
        probability = _number(body, "probability", 1.0)
        if probability is None or not 0.0 <= probability <= 1.0:
            raise ControlError(400, "'probability' must be between 0 and 1")
        times = _number(body, "times", 1)
        if times is not None and times < 1:
            raise ControlError(400, "'times' must be at least 1 (or null for unlimited)")
        chat_id = _number(body, "chat_id", None)
        description = body.get("description")
        if description is not None and not isinstance(description, str):
            raise ControlError(400, "'description' must be a string")
        if "seed" in body:
            self._rng.seed(body["seed"])
        rule = FaultRule(
            id=self._next_id,
            method="*" if method == "*" else method.lower(),
            error_code=code,
            description=description,
            retry_after=int(_number(body, "retry_after", 1) or 1),
            chat_id=int(chat_id) if chat_id is not None else None,
            times=int(times) if times is not None else None,
            probability=probability,
            latency_ms=int(latency),
        )
        self._next_id += 1
        self.rules.append(rule)
        return rule

    def match(self, method_key: str, chat_id: int | None) -> FaultRule | None:
        """Return the first rule the request hits, using up one of its ``times``."""
        for rule in self.rules:
            if not rule.matches(method_key, chat_id):
                continue
            if rule.probability < 1.0 and self._rng.random() >= rule.probability:
                continue
            rule.hits += 1
            if rule.times is not None:
                rule.times -= 1
                if rule.times <= 0:
                    self.rules.remove(rule)
            return rule
        return None

    def clear(self) -> None:
        """Remove every rule."""
        self.rules.clear()


class Violation(StrEnum):
    """Which strict-mode limit a request exceeded."""

    GLOBAL = "global"
    PER_CHAT = "per_chat"


class StrictLimiter:
    """Apply Telegram's message rate limits when strict mode is on."""

    def __init__(self) -> None:
        self.enabled = False
        self.global_per_second = 30
        self.chat_per_second = 1
        self._global: deque[float] = deque()
        self._chats: dict[int, deque[float]] = {}

    def configure(self, enabled: bool, global_per_second: int, chat_per_second: int) -> None:
        """Switch strict mode and set its limits; the windows start empty."""
        self.enabled = enabled
        self.global_per_second = global_per_second
        self.chat_per_second = chat_per_second
        self._global.clear()
        self._chats.clear()

    def to_json(self) -> JsonDict:
        """Return the settings for the control API."""
        return {
            "enabled": self.enabled,
            "global_per_second": self.global_per_second,
            "chat_per_second": self.chat_per_second,
        }

    def check(self, chat_id: int | None, paid: bool) -> Violation | None:
        """Record one message to ``chat_id``, or return the limit it would exceed."""
        now = time.monotonic()
        horizon = now - _WINDOW
        sent = self._global
        while sent and sent[0] <= horizon:
            sent.popleft()
        limit = PAID_BROADCAST_PER_SECOND if paid else self.global_per_second
        if len(sent) >= limit:
            return Violation.GLOBAL
        chat: deque[float] | None = None
        if chat_id is not None:
            chat = self._chats.get(chat_id)
            if chat is None:
                if len(self._chats) > 10_000:
                    self._prune(horizon)
                chat = self._chats[chat_id] = deque()
            while chat and chat[0] <= horizon:
                chat.popleft()
            if len(chat) >= self.chat_per_second:
                return Violation.PER_CHAT
            chat.append(now)
        sent.append(now)
        return None

    def _prune(self, horizon: float) -> None:
        stale = [key for key, times in self._chats.items() if not times or times[-1] <= horizon]
        for key in stale:
            del self._chats[key]
