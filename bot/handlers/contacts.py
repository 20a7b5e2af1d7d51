"""Staff commands for customer records: add, find, card, edit and sales routes."""

from __future__ import annotations

from bot.handlers.router import MEMBERS, Router

router = Router("contacts", MEMBERS)
