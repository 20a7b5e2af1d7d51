"""The project's exceptions, one tree.

ScrmError
├── ConfigError            a config value is missing or invalid at start-up
├── SchemaError            the database's schema is newer than this code, or unreadable
├── BackupError            a backup could not be taken, or a restore was refused
├── DomainError            a service refused a request; the dispatcher turns it into a reply
│   ├── PermissionDenied   the acting member's role or scope does not allow the action
│   ├── NotFound           the thing asked for does not exist in the actor's workspace
│   │   └── ButtonExpired  a pressed button's data is malformed or points at nothing
│   ├── InvalidInput       a value the user typed cannot be used (carries a hint)
│   └── Conflict           the action clashes with existing data (duplicate, already used)
├── TemplateError          a message template could not be filled in; nothing is sent
└── DeliveryError          Telegram did not accept a message
    ├── Blocked            403: the user blocked the bot or deleted their account
    ├── RetryAfter         429: flood control; retry after ``retry_after`` seconds
    ├── BadRequest         400: the request itself is wrong and will never succeed
    └── TransientError     5xx or a network failure; may succeed later
"""

from __future__ import annotations


class ScrmError(Exception):
    """Base of every exception the project raises on purpose."""


class ConfigError(ScrmError):
    """Raised at start-up when a config value is missing or invalid."""


class SchemaError(ScrmError):
    """Raised when the database (or a backup) has a schema this code cannot run on."""


class BackupError(ScrmError):
    """Raised when a backup cannot be taken or a restore is refused; the message says why."""


class DomainError(ScrmError):
    """Raised by a service when a request cannot be carried out.

    ``key`` is a translatable message id; ``params`` fill its placeholders.
    """

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


class PermissionDenied(DomainError):
    """Raised when the acting member's role or scope does not allow the action."""


class NotFound(DomainError):
    """Raised when the thing asked for does not exist in the actor's workspace."""


class ButtonExpired(NotFound):
    """Raised when a pressed button's data is malformed or what it points at is gone.

    The dispatcher answers it, like any ``NotFound`` a button press runs into, with
    ``bot.callbacks.EXPIRED`` alone.
    """


class InvalidInput(DomainError):
    """Raised when a typed value cannot be used; the key is shown as a hint."""


class Conflict(DomainError):
    """Raised when the action clashes with existing data."""


class DeliveryError(ScrmError):
    """Raised by a Messenger when Telegram does not accept a message."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class Blocked(DeliveryError):
    """Raised on 403: the user blocked the bot or deleted their account."""


class RetryAfter(DeliveryError):
    """Raised on 429: flood control asks to wait ``retry_after`` seconds."""

    def __init__(self, description: str, retry_after: float) -> None:
        super().__init__(description)
        self.retry_after = retry_after


class BadRequest(DeliveryError):
    """Raised on 400: the request is wrong and will never succeed as it is."""


class TransientError(DeliveryError):
    """Raised on 5xx or a network failure: the same request may succeed later."""


class TemplateError(ScrmError):
    """Raised when a template cannot be rendered within its limits; ``reason`` is a message id."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
