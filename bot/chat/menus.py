"""Command menus and the commands a role may use, derived from the routers."""

from __future__ import annotations

from collections.abc import Iterable

from bot.chat.router import CommandSpec, Router
from bot.crm.models import Role
from bot.i18n import translate
from bot.messaging import BotCommand


def visible_commands(routers: Iterable[Router], role: Role | None) -> list[CommandSpec]:
    """Return the commands a role may use, in router order, without duplicates."""
    seen: dict[str, CommandSpec] = {}
    for router in routers:
        if router.roles is not None and (role is None or role not in router.roles):
            continue
        for spec in router.commands.values():
            if role is None or spec.for_members:
                seen.setdefault(spec.name, spec)
    return list(seen.values())


def menu(routers: Iterable[Router], role: Role | None, locale: str) -> tuple[BotCommand, ...]:
    """Return the Telegram command menu for a role in one language."""
    return tuple(
        BotCommand(spec.name, translate(locale, spec.help)[:256])
        for spec in visible_commands(routers, role)
        if spec.menu
    )


class Menus:
    """Menus and help for every role, built once from the dispatcher's routers."""

    def __init__(self, routers: Iterable[Router]) -> None:
        self._routers = tuple(routers)

    def menu(self, role: Role | None, locale: str) -> tuple[BotCommand, ...]:
        """Return the command menu for a role in one language."""
        return menu(self._routers, role, locale)

    def commands(self, role: Role | None) -> list[CommandSpec]:
        """Return the commands a role may use, in router order."""
        return visible_commands(self._routers, role)

    def knows(self, command: str) -> bool:
        """Return whether any router handles ``command``."""
        return any(command in r.commands for r in self._routers)
