"""Routers: commands and buttons of one audience behind one role guard."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from bot.callbacks import CallbackData
from bot.chat.context import Context
from bot.crm.models import Role

Handler = Callable[[Context], Awaitable[None]]
# Takes a message no dialog is waiting for; returns whether it handled it.
MessageHandler = Callable[[Context], Awaitable[bool]]
Pressed = TypeVar("Pressed", bound=CallbackData)
ButtonHandler = Callable[[Context, Pressed], Awaitable[None]]
ANYONE: frozenset[Role] | None = None
MEMBERS = frozenset(Role)
MANAGERS = frozenset({Role.OWNER, Role.ADMIN})


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """A command's handler and the line ``/help`` shows for it."""

    name: str
    handler: Handler
    help: str
    usage: str = ""
    menu: bool = True
    for_members: bool = True


@dataclass(frozen=True, slots=True)
class ButtonSpec:
    """A button declaration and the handler that gets its pressed, parsed values."""

    kind: type[CallbackData]
    handler: ButtonHandler[Any]


@dataclass(slots=True)
class Router:
    """Commands and buttons for one audience, guarded once by role.

    ``roles`` None means anyone may use them, members, customers and strangers alike.
    """

    name: str
    roles: frozenset[Role] | None
    commands: dict[str, CommandSpec] = field(default_factory=dict)
    buttons: dict[str, ButtonSpec] = field(default_factory=dict)
    messages: list[MessageHandler] = field(default_factory=list)

    def allows(self, ctx: Context) -> bool:
        """Return whether the sender passes this router's role guard."""
        return self.roles is None or (ctx.role is not None and ctx.role in self.roles)

    def command(
        self,
        name: str,
        *,
        help: str,
        usage: str = "",
        menu: bool = True,
        for_members: bool = True,
    ) -> Callable[[Handler], Handler]:
        """Register a ``/name`` command handler with its help line.

        ``for_members`` False keeps a customer-facing command out of staff menus
        and help (it still works if a member types it).
        """

        def register(handler: Handler) -> Handler:
            self.commands[name] = CommandSpec(name, handler, help, usage, menu, for_members)
            return handler

        return register

    def button(
        self, kind: type[Pressed]
    ) -> Callable[[ButtonHandler[Pressed]], ButtonHandler[Pressed]]:
        """Register the handler of a button declaration; it gets the parsed values.

        Raises:
            ValueError: when this router already handles the declaration's prefix.
        """

        def register(handler: ButtonHandler[Pressed]) -> ButtonHandler[Pressed]:
            if kind.prefix in self.buttons:
                msg = f"router {self.name} handles button prefix {kind.prefix!r} twice"
                raise ValueError(msg)
            self.buttons[kind.prefix] = ButtonSpec(kind, handler)
            return handler

        return register

    def message(self, handler: MessageHandler) -> MessageHandler:
        """Register a handler for messages that are no command and no dialog's answer."""
        self.messages.append(handler)
        return handler

    def dismiss(self, kind: type[CallbackData], message: str) -> None:
        """Register a Cancel or Keep button: pressing it replaces its message with ``message``."""

        async def dismissed(ctx: Context, pressed: CallbackData) -> None:
            ctx.edit(ctx.t(message))

        self.button(kind)(dismissed)
