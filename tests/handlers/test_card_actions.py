"""The card's act buttons: log, remind, buy and tag a customer by taps, within scope.

An erased customer's card says so and offers neither edits nor acts.
"""

from __future__ import annotations

from typing import Any

from tests.e2e.harness import Person, Workspace, execute, query
from tests.handlers.chat import ChatBot, Controls, open_shop

CHEN = 1003
STAMP = "2026-11-01 00:00:00.000000"


async def add(rep: Person, line: str) -> int:
    """Add a contact with the one-line /add and return its id."""
    await rep.send(f"/add {line}")
    saved = await rep.expect("Saved", "as #")
    return int(saved["text"].split("as #")[1].rstrip("."))


def labels(message: dict[str, Any]) -> list[list[str]]:
    """Return the button labels of a message, row by row."""
    return [[b["text"] for b in row] for row in message["reply_markup"]["inline_keyboard"]]


def define_tags(db: Any, *names: str) -> None:
    """Define tags for the shop, as /tagdef would."""
    for name in names:
        execute(
            db,
            "INSERT INTO tag (workspace_id, name, dimension, weight, created_at)"
            " VALUES (1, ?, 'interest', 10, ?)",
            name,
            STAMP,
        )


async def test_card_offers_act_buttons_in_short_rows(chat: ChatBot, workspace: Workspace) -> None:
    crew = await open_shop(chat, workspace)
    wang = await add(crew.li, "Wang Li +8613800138000")
    await crew.li.send(f"/card {wang}")
    card = await crew.li.expect(f"Wang Li (#{wang})")
    rows = labels(card)
    assert rows[:2] == [["📝 Log", "⏰ Remind"], ["💰 Buy", "🏷 Tag"]]
    assert all(len(row) <= 3 for row in rows)
    assert "✏️ Name" in rows[2]


async def test_remind_and_buy_reask_on_bad_answers(chat: ChatBot, workspace: Workspace) -> None:
    crew = await open_shop(chat, workspace)
    li = crew.li
    wang = await add(li, "Wang Li +8613800138000")
    db = chat.db_path

    await li.send(f"/card {wang}")
    await li.expect(f"Wang Li (#{wang})")
    await li.press("Remind")
    await li.expect("Reminder about", "Wang Li", "when, and what?")
    await li.send("banana")
    await li.expect("⚠️")
    await li.expect("when, and what?")
    await li.send("tomorrow 10:00")
    await li.expect("Add a few words after the time")
    await li.send("tomorrow 10:00 call back")
    await li.expect("I'll remind you about", "Wang Li", "call back")
    assert query(db, "SELECT text FROM reminder WHERE customer_id = ?", wang) == [("call back",)]

    await li.send(f"/card {wang}")
    await li.expect(f"Wang Li (#{wang})")
    await li.press("Buy")
    await li.expect("Purchase by", "how much?")
    await li.send("lots")
    await li.expect("⚠️")
    await li.expect("how much?")
    await li.send("128.50 Longjing 250g")
    done = await li.expect("¥128.50 recorded for", "Wang Li", "Purchases: 1")
    assert labels(done) == [["📇 Open card"]]
    assert query(db, "SELECT amount_minor, note FROM purchase WHERE customer_id = ?", wang) == [
        (12850, "Longjing 250g")
    ]


async def test_tag_buttons_toggle_and_say_when_there_are_none(
    chat: ChatBot, workspace: Workspace
) -> None:
    crew = await open_shop(chat, workspace)
    li = crew.li
    wang = await add(li, "Wang Li +8613800138000")

    await li.send(f"/card {wang}")
    await li.expect(f"Wang Li (#{wang})")
    await li.press("🏷 Tag")
    await li.expect("No tags yet", "/tagdef")

    define_tags(chat.db_path, "vip", "oolong")
    await li.send(f"/card {wang}")
    await li.expect(f"Wang Li (#{wang})")
    await li.press("🏷 Tag")
    screen = await li.expect("Wang Li", "Tap a tag to add or remove it")
    assert sorted(labels(screen)[0]) == ["oolong", "vip"]
    await li.press("vip")
    screen = await li.expect("Wang Li", "vip", "Score")
    assert "✅ vip" in labels(screen)[0]
    await li.press("✅ vip")
    screen = await li.expect("Wang Li", "Score")
    assert "✅ vip" not in labels(screen)[0]
    assert query(chat.db_path, "SELECT count(*) FROM customer_tag") == [(0,)]


async def test_another_reps_card_buttons_have_expired(
    chat: ChatBot, workspace: Workspace, emu: Controls
) -> None:
    crew = await open_shop(chat, workspace)
    wang = await add(crew.li, "Wang Li +8613800138000")
    define_tags(chat.db_path, "vip")
    await crew.li.send(f"/card {wang}")
    card = await crew.li.expect(f"Wang Li (#{wang})")
    await crew.li.press("🏷 Tag")
    tag_screen = await crew.li.expect("Tap a tag")
    presses = [
        (message, button)
        for message in (card, tag_screen)
        for row in message["reply_markup"]["inline_keyboard"]
        for button in row
    ]
    for message, button in presses:
        pressed = await emu.post(
            "callback",
            user_id=CHEN,
            data=button["callback_data"],
            message_id=message["message_id"],
        )
        assert chat.answer_to(pressed["callback_query_id"]) == "This button has expired."
    assert not any("Wang" in text for text in await crew.chen.quiet())
    assert query(chat.db_path, "SELECT count(*) FROM customer_tag") == [(0,)]


async def test_an_erased_customers_card_offers_no_edits_nor_acts(
    chat: ChatBot, workspace: Workspace, emu: Controls
) -> None:
    crew = await open_shop(chat, workspace)
    wang = await add(crew.li, "Wang Li +8613800138000")
    await crew.li.send(f"/card {wang}")
    old_card = await crew.li.expect(f"Wang Li (#{wang})")

    await crew.owner.send(f"/erase {wang}")
    await crew.owner.expect("Erase the personal data of", "Wang Li")
    await crew.owner.press("Erase")
    await crew.owner.expect(f"Personal data of customer #{wang} erased")
    await crew.owner.send(f"/card {wang}")
    card = await crew.owner.expect(f"🗑 #{wang}", "Personal data erased on")
    assert not (card.get("reply_markup") or {}).get("inline_keyboard")

    # The buttons of a card drawn before the erasure have expired.
    for row in old_card["reply_markup"]["inline_keyboard"]:
        for button in row:
            pressed = await emu.post(
                "callback",
                user_id=crew.li.id,
                data=button["callback_data"],
                message_id=old_card["message_id"],
            )
            assert chat.answer_to(pressed["callback_query_id"]) == "This button has expired."


async def test_card_acts_speak_chinese(chat: ChatBot, workspace: Workspace) -> None:
    crew = await open_shop(chat, workspace)
    wang = await add(crew.li, "Wang Li +8613800138000")
    define_tags(chat.db_path, "vip")
    li = chat.person(crew.li.id, "Li", "zh-CN")
    li.cursor = crew.li.cursor

    await li.send(f"/card {wang}")
    card = await li.expect(f"Wang Li (#{wang})")
    assert labels(card)[:2] == [["📝 记录", "⏰ 提醒"], ["💰 购买", "🏷 标签"]]
    await li.press("提醒")
    await li.expect("关于", "Wang Li", "什么时候，做什么？")
    await li.send("香蕉")
    await li.expect("⚠️")
    await li.expect("什么时候，做什么？")
    await li.send("/cancel")

    await li.send(f"/card {wang}")
    await li.expect(f"Wang Li (#{wang})")
    await li.press("购买")
    await li.expect("Wang Li", "金额多少？")
    await li.send("/cancel")

    await li.send(f"/card {wang}")
    await li.expect(f"Wang Li (#{wang})")
    await li.press("标签")
    screen = await li.expect("点一个标签即可添加或移除")
    assert "Tap" not in screen["text"]
