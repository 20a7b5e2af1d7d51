"""Admin commands for campaign templates (owner and admins)."""

from __future__ import annotations

from bot.handlers.router import MANAGERS, Router

router = Router("templates", MANAGERS)
