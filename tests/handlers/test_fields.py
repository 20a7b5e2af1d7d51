"""A shop's own fields in chat: /fields edits the lists, /add and the card fill them in."""

from __future__ import annotations

from typing import Any

from tests.e2e.harness import Workspace, query
from tests.handlers.chat import ChatBot, Crew, open_shop


def labels(message: dict[str, Any]) -> list[str]:
    """Return every button label of a message."""
    return [b["text"] for row in message["reply_markup"]["inline_keyboard"] for b in row]


async def add_zhao(crew: Crew) -> int:
    """Add Zhao Min with the one-line /add and return her id."""
    await crew.li.send("/add Zhao Min +8613800138000")
    saved = await crew.li.expect("Saved", "as #")
    return int(saved["text"].split("as #")[1].rstrip("."))


async def test_admin_edits_the_lists_by_taps_and_short_text(
    chat: ChatBot, workspace: Workspace
) -> None:
    crew = await open_shop(chat, workspace, admin=True)
    assert crew.zhou is not None
    zhou, db = crew.zhou, chat.db_path

    await crew.li.send("/fields")
    await crew.li.expect("Sorry, /fields isn't available to you.")

    await zhou.send("/fields")
    home = await zhou.expect("Customer fields", "Gender", "Female, Male", "Preferences (several)")
    assert labels(home) == ["Gender", "Age band", "Preferences"]
    await zhou.send("/fields colour")
    await zhou.expect("Send /fields alone, or with one of your fields: Gender, Age band")

    await zhou.press("Preferences", home)
    await zhou.expect("Preferences", "options: 5")
    await zhou.press("Add an option")
    await zhou.expect("Name of the new option for", "Preferences")
    await zhou.send("   ")
    await zhou.expect("short name of up to 40 characters")
    await zhou.send("x" * 41)
    await zhou.expect("short name of up to 40 characters")
    await zhou.send("gift SETS")
    await zhou.expect("“gift SETS” is already on the list.")
    await zhou.send("Oolong")
    await zhou.expect("Saved “Oolong”.")
    listing = await zhou.expect("Preferences", "options: 6")
    assert labels(listing)[:6] == [
        "New arrivals",
        "Discounts",
        "Gift sets",
        "Premium",
        "Events",
        "Oolong",
    ]

    await zhou.press("Oolong")
    await zhou.expect("Oolong", "customers with it: 0")
    await zhou.press("⬆")
    moved = await zhou.expect("Preferences")
    assert labels(moved)[4:6] == ["Oolong", "Events"]

    await zhou.press("Discounts")
    await zhou.expect("Discounts", "customers with it: 0")
    await zhou.press("Rename")
    await zhou.expect("New name for", "Discounts")
    await zhou.send("Oolong")
    await zhou.expect("already on the list")
    await zhou.send("Promotions")
    await zhou.expect("Saved “Promotions”.")
    await zhou.expect("Preferences", "options: 6")
    assert query(db, "SELECT key, label FROM field_option WHERE label = 'Promotions'") == [
        ("discounts", "Promotions")
    ]

    await zhou.press("Events")
    await zhou.expect("Events", "customers with it: 0")
    await zhou.press("Remove")
    removed = await zhou.expect("Removed “Events”.")
    assert "Events" not in labels(removed)


async def test_removing_an_option_in_use_asks_then_clears_it(
    chat: ChatBot, workspace: Workspace
) -> None:
    crew = await open_shop(chat, workspace)
    zhao = await add_zhao(crew)
    await crew.li.send(f"/card {zhao}")
    await crew.li.expect("Zhao Min")
    await crew.li.press("Gender")
    await crew.li.expect("Gender of", "Zhao Min")
    await crew.li.press("Female")
    await crew.li.expect("Saved.")
    await crew.li.expect("🏷 Female")

    owner = crew.owner
    await owner.send("/fields gender")
    await owner.expect("Gender", "options: 2")
    await owner.press("Female")
    await owner.expect("customers with it: 1")
    await owner.press("Remove")
    await owner.expect("Customers with", "Female", ": 1", "clear it from them?")
    await owner.press("Keep it")
    await owner.expect("customers with it: 1")
    await owner.press("Remove")
    await owner.expect("clear it from them?")
    await owner.press("Remove and clear")
    await owner.expect("Removed “Female”.", "Cleared from customers: 1.")
    assert query(chat.db_path, "SELECT gender FROM customer WHERE id = ?", zhao) == [(None,)]

    await crew.li.send(f"/card {zhao}")
    card = await crew.li.expect("Zhao Min")
    assert "Female" not in card["text"]


async def test_retail_add_and_card_use_the_shops_fields(
    chat: ChatBot, workspace: Workspace
) -> None:
    crew = await open_shop(chat, workspace)
    li, db = crew.li, chat.db_path

    await li.send("/add")
    await li.expect("What's their name?")
    await li.send("Sun Mei")
    await li.expect("phone number?")
    await li.send("/skip")
    await li.expect("About Sun Mei: gender?")
    await li.send("robot")
    await li.expect("Please tap one of the buttons: Female, Male.")
    await li.expect("About Sun Mei: gender?")
    await li.press("Female")
    await li.expect("Age band?")
    await li.press("25–34")
    await li.expect("What does Sun Mei like?")
    await li.press("Gift sets")
    ticked = await li.expect("What does Sun Mei like?")
    assert "✅ Gift sets" in labels(ticked)
    await li.press("Premium")
    await li.press("Gift sets")
    await li.expect("What does Sun Mei like?")
    await li.press("Done")
    await li.expect("Please check:", "Female · 25–34", "Preferences: Premium")
    await li.press("Save")
    saved = await li.expect("Saved", "Sun Mei")
    sun = int(saved["text"].split("as #")[1].rstrip("."))
    assert query(db, "SELECT gender, age_band, preferences FROM customer WHERE id = ?", sun) == [
        ("female", "25_34", '["premium"]')
    ]

    await li.send(f"/card {sun}")
    card = await li.expect("Sun Mei", "🏷 Female · 25–34", "❤️ Preferences: Premium")
    assert "Ownership" not in str(labels(card))
    await li.press("Preferences")
    await li.expect("Sun Mei", "Preferences: Premium", "Tap to tick or untick")
    await li.press("New arrivals")
    await li.expect("Preferences: Premium, New arrivals")
    await li.press("Open card")
    await li.expect("❤️ Preferences: Premium, New arrivals")
    await li.press("Birthday")
    await li.expect("Birthday of", "1990-05-17")
    await li.send("31.02.1990")
    await li.expect("year-month-day, like 1990-05-17")
    await li.send("1990年5月17日")
    await li.expect("Saved.")
    await li.expect("🎂 Birthday: 1990-05-17")

    await li.send("/find new arrivals")
    await li.expect("Found 1", "new arrivals")


async def test_a_chinese_rep_sees_the_preset_in_chinese_and_admin_text_as_typed(
    chat: ChatBot, workspace: Workspace
) -> None:
    crew = await open_shop(chat, workspace)
    await crew.owner.send("/fields preferences")
    await crew.owner.expect("options: 5")
    await crew.owner.press("Add an option")
    await crew.owner.send("Oolong")
    await crew.owner.expect("Saved “Oolong”.")
    zhao = await add_zhao(crew)
    await crew.li.send("/lang zh-CN")
    await crew.li.expect("中文")
    await crew.li.send(f"/card {zhao}")
    await crew.li.expect("Zhao Min")
    await crew.li.press("偏好")
    screen = await crew.li.expect("偏好")
    assert {"新品", "礼盒", "Oolong"} <= set(labels(screen))
    await crew.li.press("Oolong")
    await crew.li.press("礼盒")
    await crew.li.expect("Oolong, 礼盒")
