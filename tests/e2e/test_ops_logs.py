"""Logs worth reading: an idle bot stays quiet at INFO, JSON lines parse, no token leaks."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.harness import TOKEN, BotOptions, Person, Workspace

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("framework", ["aiogram"])]

# The scheduler ticks twenty times a second here: a line per tick (APScheduler's
# "Running job ..." used to be six every two seconds) would show up hundreds of times.
FAST_TICK = "0.05"
IDLE_SECONDS = 6.0


def after_start(lines: list[str]) -> list[str]:
    """Return the lines logged after the bot said it is running."""
    for index, line in enumerate(lines):
        if re.search(r"bot @\S+ is running", line):
            return lines[index + 1 :]
    raise AssertionError("the bot never said it is running")


async def test_an_idle_bot_writes_at_most_one_line_a_minute(
    options: BotOptions, workspace: Workspace, start_bot: Callable[[BotOptions], Any]
) -> None:
    options.extra_env["SCRM_SCHEDULER__TICK_SECONDS"] = FAST_TICK
    bot = await start_bot(options)
    await asyncio.sleep(IDLE_SECONDS)
    idle = after_start(bot.lines)
    # At most one line a minute: in these few seconds, one at most.
    assert len(idle) <= 1, "\n".join(idle)


async def test_json_logs_are_one_object_per_line_and_never_carry_the_token(
    options: BotOptions,
    workspace: Workspace,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
) -> None:
    options.extra_env["SCRM_LOGGING__FORMAT"] = "json"
    options.extra_env["SCRM_LOGGING__LEVEL"] = "DEBUG"
    bot = await start_bot(options)
    owner = person(1001, "Wang")
    await owner.send(f"/start {workspace.owner_payload}")
    await owner.expect("Welcome to")
    await owner.send("/add Zhao Min +8613800138000")
    await owner.expect("Zhao Min")
    await asyncio.sleep(0.5)
    entries = [json.loads(line) for line in bot.lines]
    assert {"time", "level", "logger", "message"} <= set(entries[0])
    # DEBUG lets the libraries' INFO lines through (request URLs carry the token: masked).
    assert any(e["logger"].startswith(("aiogram", "aiohttp", "asyncio")) for e in entries)
    text = "\n".join(bot.lines)
    assert TOKEN not in text
    assert TOKEN.split(":")[1] not in text
    for secret in ("13800138000", "Zhao Min"):
        assert secret not in text
