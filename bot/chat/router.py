"""Routers: commands and button prefixes of one audience behind one role guard."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.chat.context import Context
from bot.crm.models import Role

Handler = Callable[[Context], Awaitable[None]]
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


@dataclass(slots=True)
class Router:
    """Commands and callback prefixes for one audience, guarded once by role.

    ``roles`` None means anyone may use them, members, customers and strangers alike.
    """

    name: str
    roles: frozenset[Role] | None
    commands: dict[str, CommandSpec] = field(default_factory=dict)
    callbacks: dict[str, Handler] = field(default_factory=dict)

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

    def callback(self, prefix: str) -> Callable[[Handler], Handler]:
        """Register a handler for buttons whose data starts with ``prefix:``."""

        def register(handler: Handler) -> Handler:
            self.callbacks[prefix] = handler
            return handler

        return register
