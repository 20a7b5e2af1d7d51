"""Bad input gets a clear reply in the user's language and loses nothing."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.e2e.harness import Workspace, execute, query
from tests.handlers.chat import ChatBot, Controls, Person

pytestmark = pytest.mark.timeout(120)

OWNER, STAFF, LATE, STRANGER = 1001, 1002, 1003, 3001


async def test_invite_codes_used_expired_unknown(
    chat: ChatBot,
    workspace: Workspace,
    person: Callable[..., Person],
) -> None:
    owner, staff, late = person(OWNER, "Wang"), person(STAFF, "Li"), person(LATE, "Sun")
    await owner.send(f"/start {workspace.owner_payload}")
    await owner.expect("Welcome to")

    await late.send(f"/start {workspace.owner_payload}")
    await late.expect("already been used")
    await late.send("/start inv_doesNotExist123")
    await late.expect("isn't valid")
    await late.send("/start inv_")
    await late.expect("isn't valid")

    await owner.send("/invite staff")
    invite = await owner.expect("Invite for a new")
    payload = invite["text"].split("?start=")[1].split()[0]
    execute(
        chat.db_path,
        "UPDATE invite SET expires_at = '2020-01-01 00:00:00' WHERE role = 'staff'",
    )
    await staff.send(f"/start {payload}")
    await staff.expect("expired")

    await owner.send("/invite staff")
    invite = await owner.expect("Invite for a new")
    await owner.press("Withdraw")
    await owner.expect("withdrawn")
    payload = invite["text"].split("?start=")[1].split()[0]
    await staff.send(f"/start {payload}")
    await staff.expect("withdrawn")
    assert query(chat.db_path, "SELECT count(*) FROM member") == [(1,)]


async def test_replies_follow_the_users_language(
    chat: ChatBot,
    workspace: Workspace,
    emu: Controls,
    person: Callable[..., Person],
) -> None:
    stranger = person(STRANGER, "小王", language_code="zh-hans")
    await stranger.send("/frobnicate")
    await stranger.expect("/frobnicate", "/help")
    assert "I don't know" not in stranger.last["text"]

    await stranger.send("/lang en")
    await stranger.expect("I'll speak English")
    await stranger.send("/frobnicate")
    await stranger.expect("I don't know /frobnicate")

    await stranger.send("/lang")
    await stranger.expect("Choose your language")
    await stranger.press("简体中文")
    await stranger.expect("简体中文")
    await stranger.send(f"/start w_{workspace.slug}")
    consent = await stranger.expect("/stop")
    assert "May we send" not in consent["text"]
    assert query(chat.db_path, "SELECT locale FROM customer") == [("zh-CN",)]


async def test_phone_extensions_and_control_characters_are_refused(
    chat: ChatBot,
    workspace: Workspace,
    person: Callable[..., Person],
) -> None:
    owner = person(OWNER, "Wang")
    await owner.send(f"/start {workspace.owner_payload}")
    await owner.expect("Welcome to")

    await owner.send("/add Zhao +86 138-0000-0605 ext 12")
    await owner.expect("without extensions", "ext 12", "notes")
    await owner.send("/add +86 138-0000-0605 ext 12")
    await owner.expect("without extensions", "ext 12")
    await owner.send("/add +86 138-0000-0605 Zhao")
    await owner.expect("put the phone number last")
    await owner.send("/add Zhao\x00Wei 138 0000 0605")
    await owner.expect("hidden control character")

    await owner.send("/add")
    await owner.expect("What's their name?")
    await owner.send("+86 138-0000-0605 ext 12")
    await owner.expect("looks like a phone number")
    await owner.send("Zhao\x1bWei")
    await owner.expect("hidden control character")
    await owner.send("Zhao Wei")
    await owner.expect("Zhao Wei's phone number?")
    await owner.send("+86 138-0000-0605 转 12")
    await owner.expect("without extensions", "ext 12")
    await owner.send("/cancel")
    await owner.expect("Nothing was saved")
    assert query(chat.db_path, "SELECT count(*) FROM customer") == [(0,)]

    await owner.send("/add Zhao Wei +86 138-0000-0605")
    await owner.expect("Saved", "Zhao Wei")
    assert query(chat.db_path, "SELECT name, phone FROM customer") == [
        ("Zhao Wei", "+8613800000605")
    ]
