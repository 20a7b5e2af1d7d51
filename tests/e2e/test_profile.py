"""The /profile dialog: wrong answers re-ask, state survives a SIGKILL of the bot."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.harness import BotOptions, Person, Workspace, query

OWNER = 1001


async def test_profile_resumes_after_sigkill(
    options: BotOptions,
    workspace: Workspace,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
) -> None:
    bot = await start_bot(options)
    owner = person(OWNER, "Wang")
    await owner.send(f"/start {workspace.owner_payload}")
    await owner.expect("Welcome to")

    await owner.send("/profile")
    await owner.expect("What name should customers")
    await bot.kill()

    await start_bot(options)
    await owner.send("Wang Fang")
    await owner.expect("Thanks, Wang Fang!", "phone")
    await owner.send("138 0013 8000")
    await owner.expect("Profile saved", "Wang Fang", "+8613800138000")
    assert query(options.db_path, "SELECT display_name, phone FROM member") == [
        ("Wang Fang", "+8613800138000")
    ]
    assert query(options.db_path, "SELECT count(*) FROM conversation_state") == [(0,)]


@pytest.mark.parametrize("framework", ["ptb"])  # a chat flow: one framework
async def test_profile_wrong_answers_reask_and_keep_state(
    options: BotOptions,
    workspace: Workspace,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
    emu: Any,
) -> None:
    await start_bot(options)
    owner = person(OWNER, "Wang")
    await owner.send(f"/start {workspace.owner_payload}")
    await owner.expect("Welcome to")
    await owner.send("/profile")
    await owner.expect("What name")

    await owner.send("x" * 500)
    await owner.expect("500 characters long", "under 64")
    await owner.expect("What name")
    await emu.post("sticker", user_id=OWNER)
    await owner.expect("Please answer with a text message")
    await owner.send("Wang Fang")
    await owner.expect("Thanks, Wang Fang!")

    await owner.send("12345")
    await owner.expect("doesn't look like a phone number")
    await owner.expect("Your work phone number")
    await owner.send("/help")
    await owner.expect("Here's what you can do")
    await owner.send("/skip")
    await owner.expect("Profile saved", "Wang Fang", "not set")
    assert query(options.db_path, "SELECT display_name, phone FROM member") == [
        ("Wang Fang", None)
    ]


@pytest.mark.parametrize("framework", ["aiogram"])  # a chat flow: one framework
async def test_cancel_from_any_step(
    options: BotOptions,
    workspace: Workspace,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
) -> None:
    await start_bot(options)
    owner = person(OWNER, "Wang")
    await owner.send(f"/start {workspace.owner_payload}")
    await owner.expect("Welcome to")
    await owner.send("/profile")
    await owner.expect("What name")
    await owner.send("Wang Fang")
    await owner.expect("phone")
    await owner.send("cancel")
    await owner.expect("cancelled")
    await owner.send("/cancel")
    await owner.expect("nothing to cancel")
    assert query(options.db_path, "SELECT display_name FROM member") == [("Wang",)]
