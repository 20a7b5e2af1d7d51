"""The shop's inbox settings and saved answers: /hours, /replysla, /signature, /quick."""

from __future__ import annotations

from bot.chat.router import MANAGERS, Router

admin_router = Router("inbox.admin", MANAGERS)
