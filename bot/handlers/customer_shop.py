"""A customer of several shops says which shop their messages are for: /shop."""

from __future__ import annotations

from bot.chat.router import ANYONE, Router

router = Router("customer.shop", ANYONE)
