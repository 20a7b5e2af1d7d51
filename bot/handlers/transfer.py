"""Export and import of customer records as CSV or XLSX files."""

from __future__ import annotations

from bot.handlers.router import MEMBERS, Router

router = Router("transfer", MEMBERS)
