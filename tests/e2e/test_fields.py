"""Fields that fit a shop: a tea shop's admin edits its lists, a rep fills them in by taps.

A retail shop (the default of ``scrm-bot workspace create``) asks gender, age band
and preferences; ``--kind trade`` keeps ownership, business and location type.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.harness import BotOptions, Person, Workspace, cli, query
from tests.e2e.test_followups import owner_and_rep


def labels(message: dict[str, Any]) -> list[str]:
    """Return every button label of a message."""
    return [b["text"] for row in message["reply_markup"]["inline_keyboard"] for b in row]


@pytest.mark.parametrize("framework", ["ptb", "aiogram"])
async def test_a_tea_shop_keeps_its_own_fields_by_taps(
    options: BotOptions,
    workspace: Workspace,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
) -> None:
    await start_bot(options)
    db = options.db_path
    owner, rep = await owner_and_rep(workspace, person)

    await rep.send("/fields")
    await rep.expect("Sorry, /fields isn't available to you.")

    await owner.send("/fields")
    await owner.expect("Customer fields", "Gender", "Female, Male", "Preferences (several)")
    await owner.press("Preferences")
    await owner.expect("Preferences", "options: 5")
    await owner.press("Add an option")
    await owner.expect("Name of the new option for", "Preferences")
    await owner.send("Gift sets")
    await owner.expect("“Gift sets” is already on the list.")
    await owner.send("Oolong")
    await owner.expect("Saved “Oolong”.")
    await owner.expect("Preferences", "options: 6")

    await rep.send("/add")
    await rep.expect("What's their name?")
    await rep.send("Sun Mei")
    await rep.expect("phone number?")
    await rep.send("+86 138 0013 8000")
    await rep.expect("About Sun Mei: gender?")
    await rep.press("Female")
    await rep.expect("Age band?")
    await rep.press("25–34")
    await rep.expect("What does Sun Mei like?")
    await rep.press("Oolong")
    ticked = await rep.expect("What does Sun Mei like?")
    assert "✅ Oolong" in labels(ticked)
    await rep.press("Done")
    await rep.expect("Please check:", "Female · 25–34", "Preferences: Oolong")
    await rep.press("Save")
    saved = await rep.expect("Saved", "Sun Mei")
    match = re.search(r"as #(\d+)", saved["text"])
    assert match is not None
    sun = int(match.group(1))

    await rep.press("Open card")
    card = await rep.expect(f"Sun Mei (#{sun})", "🏷 Female · 25–34", "❤️ Preferences: Oolong")
    assert "Ownership" not in labels(card)
    await rep.press("Preferences")
    await rep.expect("Sun Mei", "Tap to tick or untick")
    await rep.press("Gift sets")
    await rep.expect("Preferences: Oolong, Gift sets")
    await rep.press("Open card")
    await rep.expect(f"Sun Mei (#{sun})", "❤️ Preferences: Oolong, Gift sets")
    await rep.press("Birthday")
    await rep.expect("Birthday of", "Sun Mei")
    await rep.send("1990-05-17")
    await rep.expect("Saved.")
    await rep.expect("🎂 Birthday: 1990-05-17", "❤️ Preferences: Oolong, Gift sets")

    await rep.send("/find oolong")
    found = await rep.expect("Found 1 for “oolong”")
    assert any("Sun Mei" in label for label in labels(found))
    assert query(db, "SELECT gender, age_band, preferences FROM customer WHERE id = ?", sun) == [
        ("female", "25_34", '["oolong", "gift_sets"]')
    ]


@pytest.mark.parametrize("framework", ["aiogram"])
async def test_a_trade_business_keeps_ownership_and_route(
    options: BotOptions,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
) -> None:
    out = await cli(
        "workspace",
        "create",
        "Wang Wholesale",
        "--timezone",
        "Asia/Shanghai",
        "--region",
        "CN",
        "--kind",
        "trade",
        env=options.env(),
    )
    assert "Kind: trade" in out
    invite = re.search(r"start=(inv_[\w-]+)", out)
    assert invite is not None
    await start_bot(options)
    owner = person(1001, "Wang")
    await owner.send(f"/start {invite.group(1)}")
    await owner.expect("Welcome to", "Wang Wholesale")

    await owner.send("/fields")
    home = await owner.expect("Customer fields", "Ownership", "State-owned")
    assert labels(home) == ["Ownership", "Business type", "Location"]
    await owner.send("/add")
    await owner.expect("What's their name?")
    await owner.send("Golden Cup")
    await owner.expect("phone number?")
    await owner.send("/skip")
    await owner.expect("Company?")
    await owner.send("/skip")
    await owner.expect("Classify Golden Cup? Ownership:")
    await owner.press("Private")
    await owner.expect("Type of business?")
    await owner.press("Chain")
    await owner.expect("Where are they located?")
    await owner.press("Skip")
    await owner.expect("Sales region and visiting order")
    await owner.send("north 2")
    await owner.expect("Please check:", "Private · Chain", "north #2")
    await owner.press("Save")
    await owner.expect("Saved", "Golden Cup")
    await owner.press("Open card")
    card = await owner.expect("Golden Cup", "🏷 Private · Chain", "north, stop 2")
    assert "Region / route" in str(labels(card))
