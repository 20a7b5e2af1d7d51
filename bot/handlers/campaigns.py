"""Admin commands for campaign campaigns (owner and admins)."""

from __future__ import annotations

from bot.handlers.router import MANAGERS, Router

router = Router("campaigns", MANAGERS)
