"""The /profile dialog: wrong answers re-ask and keep what was answered; /cancel from any step."""

from __future__ import annotations

from collections.abc import Callable

from tests.e2e.harness import Workspace, query
from tests.handlers.chat import ChatBot, Controls, Person

OWNER = 1001


async def test_profile_wrong_answers_reask_and_keep_state(
    chat: ChatBot,
    workspace: Workspace,
    person: Callable[..., Person],
    emu: Controls,
) -> None:
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
    assert query(chat.db_path, "SELECT display_name, phone FROM member") == [("Wang Fang", None)]


async def test_cancel_from_any_step(
    chat: ChatBot,
    workspace: Workspace,
    person: Callable[..., Person],
) -> None:
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
    assert query(chat.db_path, "SELECT display_name FROM member") == [("Wang",)]
