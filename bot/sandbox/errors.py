"""Error answers: Telegram's Bot API error format and the control API's JSON errors."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """Answer a Bot API request with Telegram's ``{"ok": false, ...}`` error object."""

    def __init__(self, error_code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after

    def to_json(self) -> dict[str, Any]:
        """Return the error as the JSON object Telegram sends."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def too_many_requests(retry_after: int) -> ApiError:
    """Return Telegram's flood-control error asking to wait ``retry_after`` seconds."""
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)


def chat_not_found() -> ApiError:
    """Return the error for a chat the bot cannot see."""
    return ApiError(400, "Bad Request: chat not found")


def blocked_by_user() -> ApiError:
    """Return the error for a chat whose user blocked the bot."""
    return ApiError(403, "Forbidden: bot was blocked by the user")


class ControlError(Exception):
    """Answer a control API request with ``{"error": message}`` and an HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
