"""Command routing: one router per audience, tried in the order listed here."""

from __future__ import annotations

from bot.handlers import admin, common, customer, owner, staff
from bot.handlers.router import Router

# Order matters only for /help and the command menus (they list commands in this
# order); every command and button prefix is owned by exactly one router.
ROUTERS: tuple[Router, ...] = (
    common.router,
    customer.router,
    staff.router,
    admin.router,
    owner.router,
)

__all__ = ["ROUTERS"]
