"""Bad input gets a clear reply in the user's language and loses nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.harness import BotOptions, Emulator, Person, Workspace, query

pytestmark = pytest.mark.timeout(120)

OWNER, STAFF, LATE, STRANGER = 1001, 1002, 1003, 3001


async def test_staff_cannot_invite_and_unknown_input_gets_help(
    options: BotOptions,
    workspace: Workspace,
    emu: Emulator,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
) -> None:
    await start_bot(options)
    owner, staff = person(OWNER, "Wang"), person(STAFF, "Li")
    await owner.send(f"/start {workspace.owner_payload}")
    await owner.expect("Welcome to")
    await owner.send("/invite staff")
    invite = await owner.expect("Invite for a new")
    await staff.send("/start " + invite["text"].split("?start=")[1].split()[0])
    await staff.expect("Welcome to")

    await staff.send("/invite admin")
    await staff.expect("isn't available to you")
    await staff.send("/frobnicate")
    await staff.expect("I don't know /frobnicate")
    await staff.send("hello?")
    await staff.expect("I didn't catch that")
    await emu.post("sticker", user_id=STAFF)
    await staff.expect("I can only read text")
    await emu.upload("document", STAFF, "notes.txt", b"some notes")
    await staff.expect("I can only read text")
    assert query(options.db_path, "SELECT count(*) FROM invite") == [(2,)]


async def test_a_reply_longer_than_telegram_allows_arrives_in_parts(
    options: BotOptions,
    workspace: Workspace,
    emu: Emulator,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
) -> None:
    await start_bot(options)
    owner = person(OWNER, "Wang")
    await owner.send(f"/start {workspace.owner_payload}")
    await owner.expect("Welcome to")

    wanted = "tea&milk " * 453 + "green<oolong>"
    assert len(wanted) == 4090
    await owner.send(f"/find {wanted}")
    first = await owner.expect("Nothing found for “tea&milk tea&milk")
    second = await owner.expect("or /add a new contact")
    assert len(first["text"]) <= 4096 and len(second["text"]) <= 4096
    assert first["text"].replace("🔎 Nothing found for “", "").startswith(wanted[:3000])
    assert "green<oolong>”. Try part of the name" in second["text"]
