"""Log set-up: libraries at WARNING unless DEBUG, JSON lines, tokens masked."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot.ops.logs import CHATTY, setup_logging

TOKEN = "123456789:AAsandbox-token-for-local-testing_only"


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in (*CHATTY, "aiosqlite")}
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    for name, old in levels.items():
        logging.getLogger(name).setLevel(old)


def test_library_chatter_is_quiet_at_info_and_our_events_are_not() -> None:
    out = io.StringIO()
    setup_logging("INFO", stream=out)
    logging.getLogger("apscheduler.executors.default").info("Running job tick")
    logging.getLogger("httpx").info("HTTP Request: POST https://api.telegram.org/bot%s", TOKEN)
    logging.getLogger("bot.campaigns.delivery.engine").info("run %d finished", 7)
    assert out.getvalue().count("\n") == 1
    assert "run 7 finished" in out.getvalue()


def test_debug_lets_library_info_through_with_the_token_masked_but_not_sql() -> None:
    out = io.StringIO()
    setup_logging("DEBUG", stream=out)
    logging.getLogger("httpx").info("HTTP Request: POST https://api.telegram.org/bot%s", TOKEN)
    logging.getLogger("aiosqlite").debug("executing SELECT ? -> ('+8613800138000',)")
    text = out.getvalue()
    assert "api.telegram.org/bot<token>" in text
    assert TOKEN.split(":")[1] not in text
    assert "8613800138000" not in text


def test_json_format_writes_one_object_per_line_with_the_traceback() -> None:
    out = io.StringIO()
    setup_logging("INFO", "json", stream=out)
    try:
        raise RuntimeError(f"failed calling /bot{TOKEN}/getMe")
    except RuntimeError:
        logging.getLogger("bot.app").exception("start-up failed for %s", "run")
    entry = json.loads(out.getvalue())
    assert entry["level"] == "ERROR"
    assert entry["logger"] == "bot.app"
    assert entry["message"] == "start-up failed for run"
    assert "RuntimeError" in entry["exception"]
    assert TOKEN.split(":")[1] not in entry["exception"]
