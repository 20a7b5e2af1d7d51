"""The inbox desk: /inbox, /history and /transfer of conversations."""

from __future__ import annotations

from bot.chat.router import MEMBERS, Router

router = Router("inbox.desk", MEMBERS)
