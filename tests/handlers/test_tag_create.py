"""/tag with a tag nobody defined: the plain answer to staff, a Create button to managers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.handlers.values import CreateTag
from tests.e2e.harness import Workspace, query
from tests.e2e.test_pipeline import CHEN, LI, OWNER, seed_customer
from tests.handlers.chat import ChatBot, Controls, Person, open_shop

OTHER_OWNER = 1101


def buttons(message: dict[str, Any]) -> list[str]:
    """Return the labels of a message's inline buttons."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return [button["text"] for row in rows for button in row]


def data_of(message: dict[str, Any], label: str) -> str:
    """Return the callback data of the button whose label holds ``label``."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return str(next(b["callback_data"] for row in rows for b in row if label in b["text"]))


async def test_owner_creates_a_missing_tag_with_one_tap_and_it_is_added(
    chat: ChatBot, workspace: Workspace, person: Callable[..., Person]
) -> None:
    crew = await open_shop(chat, workspace)
    db = chat.db_path
    zhao = seed_customer(db, "Zhao", LI)

    await crew.owner.send(f"/tag {zhao} +oolong")
    offer = await crew.owner.expect("There's no tag called oolong. See /tags.")
    assert "Did you mean" not in offer["text"]
    assert "—" not in offer["text"]
    assert "It starts in interest with weight 0" in offer["text"]
    assert buttons(offer) == ["➕ Create tag “oolong”"]
    assert len(data_of(offer, "Create").encode()) <= 64

    await crew.owner.press("Create tag")
    done = await crew.owner.expect(
        "Tag oolong created: interest, weight 0.", f"Zhao (#{zhao}): oolong", "Score 0"
    )
    assert len(buttons(done)) == 1  # the customer's card
    assert query(db, "SELECT name, dimension, weight FROM tag") == [("oolong", "interest", 0)]
    assert query(db, "SELECT count(*) FROM customer_tag WHERE customer_id = ?", zhao) == [(1,)]

    # A second tap on the same button adds nothing twice and creates nothing again.
    await crew.owner.press("Create tag", offer)
    again = await crew.owner.expect(f"Zhao (#{zhao}): oolong")
    assert "created" not in again["text"]
    assert query(db, "SELECT count(*) FROM tag") == [(1,)]
    assert query(db, "SELECT count(*) FROM customer_tag") == [(1,)]

    # Li now tags with it as with any other tag.
    await crew.li.send(f"/tag {zhao} -oolong")
    await crew.li.expect(f"Zhao (#{zhao}): —")


async def test_staff_get_only_the_plain_answer(
    chat: ChatBot, workspace: Workspace, person: Callable[..., Person], emu: Controls
) -> None:
    crew = await open_shop(chat, workspace)
    db = chat.db_path
    zhao = seed_customer(db, "Zhao", LI)

    await crew.li.send(f"/tag {zhao} +oolong")
    plain = await crew.li.expect("There's no tag called oolong. See /tags.")
    assert buttons(plain) == []
    assert "Create" not in plain["text"]

    # A forged Create button pressed by a rep is refused and creates nothing.
    data = CreateTag(customer_id=zhao, name="oolong").pack()
    await emu.post("callback", user_id=LI, data=data, message_id=plain["message_id"])
    await crew.li.expect("Sorry, your role can't do that.")
    assert query(db, "SELECT count(*) FROM tag") == [(0,)]


async def test_close_names_are_suggested_and_removal_offers_nothing(
    chat: ChatBot, workspace: Workspace, person: Callable[..., Person]
) -> None:
    crew = await open_shop(chat, workspace)
    zhao = seed_customer(chat.db_path, "Zhao", LI)
    await crew.owner.send("/tagdef tea-lover interest 30")
    await crew.owner.expect("Tag tea-lover added")

    await crew.owner.send(f"/tag {zhao} +tea-lovr")
    close = await crew.owner.expect("There's no tag called tea-lovr. Did you mean: tea-lover?")
    assert buttons(close) == ["➕ Create tag “tea-lovr”"]

    await crew.owner.send(f"/tag {zhao} -oolong")
    removal = await crew.owner.expect("There's no tag called oolong. See /tags.")
    assert buttons(removal) == []

    await crew.owner.send(f"/tag {zhao} +tea-lover")
    await crew.owner.expect(f"Zhao (#{zhao}): tea-lover", "Score 30")


async def test_a_name_too_long_for_a_button_is_offered_as_a_command(
    chat: ChatBot, workspace: Workspace, person: Callable[..., Person]
) -> None:
    crew = await open_shop(chat, workspace)
    zhao = seed_customer(chat.db_path, "Zhao", LI)
    name = "乌龙茶" * 5  # 15 characters, 45 bytes

    await crew.owner.send(f"/tag {zhao} +{name}")
    offer = await crew.owner.expect(f"There's no tag called {name}.")
    assert buttons(offer) == []
    assert f"/tagdef {name} interest 0" in offer["text"]

    await crew.owner.send(f"/tagdef {name} interest 0")
    await crew.owner.expect(f"Tag {name} added")
    short = "乌龙"
    await crew.owner.send(f"/tag {zhao} +{short}")
    offer = await crew.owner.expect(f"There's no tag called {short}.")
    await crew.owner.press("Create tag")
    await crew.owner.expect(f"Tag {short} created", f"Zhao (#{zhao}): {short}")


async def test_a_button_for_another_shops_customer_or_out_of_reach_has_expired(
    chat: ChatBot, workspace: Workspace, person: Callable[..., Person], emu: Controls
) -> None:
    await open_shop(chat, workspace)
    db = chat.db_path
    qian = seed_customer(db, "Qian", CHEN)
    other = await chat.create_workspace("Li's Porcelain")
    stranger = person(OTHER_OWNER, "Sun")
    await stranger.send(f"/start {other.owner_payload}")
    await stranger.expect("Li's Porcelain")

    data = CreateTag(customer_id=qian, name="oolong").pack()
    pressed = await emu.post("callback", user_id=OTHER_OWNER, data=data, message_id=1)
    assert chat.answer_to(pressed["callback_query_id"]) == "This button has expired."
    missing = CreateTag(customer_id=qian + 100, name="oolong").pack()
    pressed = await emu.post("callback", user_id=OWNER, data=missing, message_id=1)
    assert chat.answer_to(pressed["callback_query_id"]) == "This button has expired."
    bad_name = CreateTag(customer_id=qian, name="no way").pack()
    pressed = await emu.post("callback", user_id=OWNER, data=bad_name, message_id=1)
    assert chat.answer_to(pressed["callback_query_id"]) == "This button has expired."
    assert query(db, "SELECT count(*) FROM tag") == [(0,)]
    assert query(db, "SELECT count(*) FROM customer_tag") == [(0,)]


async def test_in_chinese_the_offer_and_the_result_are_chinese(
    chat: ChatBot, workspace: Workspace, person: Callable[..., Person]
) -> None:
    crew = await open_shop(chat, workspace)
    zhao = seed_customer(chat.db_path, "Zhao", LI)
    await crew.owner.send("/lang zh-CN")
    await crew.owner.expect("✅")

    await crew.owner.send(f"/tag {zhao} +oolong")
    offer = await crew.owner.expect("没有叫 oolong 的标签。", "要创建它吗")
    assert buttons(offer) == ["➕ 创建标签“oolong”"]
    await crew.owner.press("创建标签")
    await crew.owner.expect("已创建标签 oolong", "oolong")
