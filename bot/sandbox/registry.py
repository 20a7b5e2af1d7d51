"""The Bot API method registry: method names (case-insensitive) mapped to their handlers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.sandbox.emulator import Emulator
    from bot.sandbox.params import Params

Handler = Callable[["Emulator", "Params"], Awaitable[object]]


@dataclass(frozen=True, slots=True)
class Described:
    """A method result that Telegram sends with a ``description`` next to it."""

    result: object
    description: str


@dataclass(frozen=True, slots=True)
class Method:
    """One implemented Bot API method."""

    name: str
    handler: Handler
    sends_message: bool

    @property
    def key(self) -> str:
        """Return the lower-cased name used for lookups and fault rules."""
        return self.name.lower()


# Every implemented method by lower-cased name; filled by the ``api_method`` decorator.
METHODS: dict[str, Method] = {}


def api_method(name: str, *, sends_message: bool = False) -> Callable[[Handler], Handler]:
    """Register the decorated coroutine as the handler of Bot API method ``name``.

    ``sends_message`` marks methods that count as sent messages for flood control.
    """

    def register(handler: Handler) -> Handler:
        """Record the handler under the method's lower-cased name."""
        METHODS[name.lower()] = Method(name, handler, sends_message)
        return handler

    return register
