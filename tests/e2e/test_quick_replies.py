"""Quick replies end to end: an admin saves one, a rep sends it under ↩️ Reply, filled in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.harness import BotOptions, Person, Workspace, execute, query
from tests.e2e.test_pipeline import LI, open_shop, seed_customer

SUN = 2001


@pytest.mark.parametrize("framework", ["ptb", "aiogram"])
async def test_a_quick_reply_reaches_the_customer_with_their_name_and_the_signature(
    options: BotOptions,
    workspace: Workspace,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
) -> None:
    crew = await open_shop(options, workspace, start_bot, person, admin=True)
    assert crew.zhou is not None
    zhou, li = crew.zhou, crew.li
    db = options.db_path
    sun_id = seed_customer(db, "Sun Wukong", LI)
    execute(db, "UPDATE customer SET tg_user_id = ?, chat_id = ? WHERE id = ?", SUN, SUN, sun_id)
    sun = person(SUN, "Sun")

    await zhou.send(
        "/quick add price Hi {{ first_name }}, the 2015 cake is ¥380 at {{ merchant }}."
    )
    await zhou.expect("Quick reply “price” (English) saved", "Hi Mei, the 2015 cake is ¥380")
    await zhou.send("/quick add bye See you soon, {{ name }}!")
    await zhou.expect("Quick reply “bye” (English) saved")

    await sun.send("How much is the 2015 cake?")
    await sun.expect("Li from Wang's Tea House will answer you here.")
    copy = await li.expect("How much is the 2015 cake?")
    await li.press("Reply", copy)
    question = await li.expect("Send your reply to Sun Wukong, or tap a quick reply")
    labels = [b["text"] for row in question["reply_markup"]["inline_keyboard"] for b in row]
    assert labels == ["💬 bye", "💬 price"]
    await li.press("price", question)

    answer = await sun.expect("the 2015 cake")
    assert answer["text"] == "Hi Sun, the 2015 cake is ¥380 at Wang's Tea House.\n\n— Li"
    await li.expect("Sent ✓")
    assert query(db, "SELECT direction, text FROM chat_message ORDER BY id") == [
        ("in", "How much is the 2015 cake?"),
        ("out", "Hi Sun, the 2015 cake is ¥380 at Wang's Tea House."),
    ]
