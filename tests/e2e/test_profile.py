"""The /profile dialog survives a SIGKILL of the bot: state is kept in the database."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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
