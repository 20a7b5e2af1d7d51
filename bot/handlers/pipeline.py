"""Leads and value: stages, the lead pool, tags and scoring, purchases, teams and reassigning."""

from __future__ import annotations

from bot.handlers.router import MANAGERS, MEMBERS, Router

router = Router("pipeline", MEMBERS)
admin_router = Router("pipeline.admin", MANAGERS)
