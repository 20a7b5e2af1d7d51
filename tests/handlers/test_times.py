"""Times typed in chat follow one HH:MM rule: a full-width colon works everywhere, 24:00 never."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.e2e.harness import Workspace, query
from tests.handlers.chat import ChatBot, Person

pytestmark = pytest.mark.timeout(120)

OWNER = 1001


async def owner_of(workspace: Workspace, person: Callable[..., Person]) -> Person:
    """Return the shop's owner, joined by the owner invite."""
    owner = person(OWNER, "Wang")
    await owner.send(f"/start {workspace.owner_payload}")
    await owner.expect("Welcome to")
    return owner


async def test_quiet_hours_read_a_full_width_colon_and_refuse_24_00(
    chat: ChatBot, workspace: Workspace, person: Callable[..., Person]
) -> None:
    owner = await owner_of(workspace, person)
    await owner.send("/quiet 22：00-08：00")
    await owner.expect("Quiet hours: 22:00–08:00", "wait until 08:00")
    for bad in ("24:00-08:00", "25:00-08:00", "22:00-9:60"):
        await owner.send(f"/quiet {bad}")
        await owner.expect("Please give a time like 09:30 (24-hour clock).")
    await owner.send("/quiet ７：30 - 9：05")
    await owner.expect("Quiet hours: 07:30–09:05")
    assert query(chat.db_path, "SELECT quiet_start, quiet_end FROM workspace") == [
        ("07:30", "09:05")
    ]


async def test_a_campaign_time_reads_a_full_width_colon_after_a_wrong_one(
    chat: ChatBot, workspace: Workspace, person: Callable[..., Person]
) -> None:
    owner = await owner_of(workspace, person)
    await owner.send("/campaign new")
    await owner.expect("What kind")
    await owner.press("Weekly touchpoint")
    await owner.expect("Which message template")
    await owner.press("Weekly touchpoint")
    await owner.expect("Who gets it")
    await owner.press("Everyone opted in")
    await owner.expect("Which day of the week")
    await owner.press("Mon")
    await owner.expect("At what time")
    await owner.send("24:00")
    await owner.expect("Please give a time like 09:30 (24-hour clock).")
    await owner.expect("At what time")
    await owner.send(" 9：30 ")
    await owner.expect("a name for this campaign")
    await owner.send("Weekly hello")
    await owner.expect("Please check", "every Mon at 09:30")
    await owner.press("Create")
    await owner.expect("Campaign Weekly hello created")
    assert query(chat.db_path, "SELECT send_time FROM campaign") == [("09:30",)]


async def test_digest_and_reminder_times_share_the_rule(
    chat: ChatBot, workspace: Workspace, person: Callable[..., Person]
) -> None:
    owner = await owner_of(workspace, person)
    await owner.send("/digest 7：45")
    await owner.expect("Every day at 07:45")
    await owner.send("/digest 24:00")
    await owner.expect("Please send a time like 08:30, or “off”.")
    await owner.send("/add Zhang San 13800138000")
    saved = await owner.expect("Saved", "as #")
    customer = saved["text"].split("as #")[1].rstrip(".")
    await owner.send(f"/remind {customer} 25:00 call back")
    await owner.expect("I couldn't read that time")
    await owner.send(f"/remind {customer} tomorrow 9：30 call back")
    await owner.expect("I'll remind you about", "09:30 CST", "call back")
    assert query(chat.db_path, "SELECT digest_time FROM member") == [("07:45",)]
