"""Log output: our own events at the configured level, library chatter kept quiet, text or JSON."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import TextIO

# Libraries that log at INFO on every poll, tick or request. An idle bot used to
# write about six APScheduler lines every two seconds; level DEBUG lets their INFO
# lines through, never their own DEBUG lines (those quote SQL parameters and whole
# updates, message text included).
CHATTY = (
    "apscheduler",
    "httpx",
    "httpcore",
    "aiohttp.access",
    "aiohttp.server",
    "aiohttp.web",
    "telegram",
    "aiogram",
    "alembic",
    "asyncio",
)
# Libraries whose every line quotes data (aiosqlite logs each statement with its
# parameters at DEBUG): kept at WARNING whatever the level.
SILENT = ("aiosqlite",)
# A bot token (digits, a colon, 35 URL-safe characters) never reaches the log, even
# inside a library's message or a traceback that quotes a request URL.
_TOKEN = re.compile(r"(?<!\d)\d{6,12}:[A-Za-z0-9_-]{30,}")
TOKEN_MASK = "<token>"  # noqa: S105 - the placeholder, not a secret


class _Redact(logging.Filter):
    """Mask bot tokens in a record's message and traceback text."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if _TOKEN.search(message):
            record.msg = _TOKEN.sub(TOKEN_MASK, message)
            record.args = None
        return True


class _CoalescedTicks(logging.Filter):
    """Drop APScheduler's notice that a tick was skipped because the last one still runs.

    Every periodic job allows one run at a time and coalesces missed ticks on
    purpose; a slow pass is visible as scheduler lag in /metrics instead.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances reached" not in record.getMessage()


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object per line, for log collectors."""

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as JSON: time, level, logger, message, and the traceback if any."""
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = _TOKEN.sub(TOKEN_MASK, self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


class _TextFormatter(logging.Formatter):
    def formatException(self, ei: logging._SysExcInfoType) -> str:  # noqa: N802 - the stdlib's name
        return _TOKEN.sub(TOKEN_MASK, super().formatException(ei))


def setup_logging(level: str, fmt: str = "text", stream: TextIO | None = None) -> None:
    """Send logs to stderr at ``level`` as text or JSON; libraries speak up only on DEBUG."""
    handler = logging.StreamHandler(stream or sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(_TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_Redact())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    library_level = logging.INFO if level == "DEBUG" else logging.WARNING
    for name in CHATTY:
        logging.getLogger(name).setLevel(library_level)
    for name in SILENT:
        logging.getLogger(name).setLevel(logging.WARNING)
    if level != "DEBUG":
        logging.getLogger("apscheduler.scheduler").addFilter(_CoalescedTicks())
