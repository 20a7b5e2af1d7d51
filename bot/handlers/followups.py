"""Staff commands for follow-ups and reminders: log, remind, today and the digest."""

from __future__ import annotations

from bot.handlers.router import MEMBERS, Router

router = Router("followups", MEMBERS)
