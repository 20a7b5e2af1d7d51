"""Value tiers in chat: /tiers recompute after purchases, the card, /find and campaigns."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from tests.e2e.harness import Workspace, query
from tests.e2e.test_campaigns import customer_id, join
from tests.e2e.test_pipeline import CHEN, LI, seed_customer
from tests.handlers.chat import ChatBot, Person, open_shop


async def test_recompute_card_and_find_by_tier(
    chat: ChatBot,
    workspace: Workspace,
    person: Callable[..., Person],
) -> None:
    crew = await open_shop(chat, workspace)
    db = chat.db_path
    zhao = seed_customer(db, "Zhao", LI)
    qian = seed_customer(db, "Qian", LI)
    sun = seed_customer(db, "Sun", CHEN)
    li, chen, owner = crew.li, crew.chen, crew.owner

    await li.send("/tiers")
    await li.expect("Value tiers have not been computed yet", "computed every night")
    for _ in range(3):
        await li.send(f"/buy {zhao} 1280")
        await li.expect("recorded for Zhao")
    await li.send(f"/buy {qian} 10")
    await li.expect("recorded for Qian")
    await chen.send(f"/buy {sun} 300")
    await chen.expect("recorded for Sun")
    await li.send(f"/card {zhao}")
    card = await li.expect("Zhao", "3 purchases")
    assert "💎" not in card["text"]

    await li.send("/tiers recompute")
    await li.expect("Only the owner or an admin can recompute the value tiers.")
    assert query(db, "SELECT count(*) FROM customer WHERE tiers_computed_at IS NOT NULL") == [(0,)]

    await owner.send("/tiers now")
    await owner.expect("Send /tiers to see the value tiers, or /tiers recompute")
    await owner.send("/tiers recompute")
    await owner.expect(
        "Value tiers recomputed: 3 buyers in",
        "High 1 · 🔷 Medium 1 · ▫️ Low 1",
        "Changed tier: 3 (up 0, down 0, new 3)",
    )
    assert query(db, "SELECT name, value_tier, rfm_segment FROM customer ORDER BY id") == [
        ("Zhao", "high", "loyal"),
        ("Qian", "low", "potential"),
        ("Sun", "medium", "potential"),
    ]
    await owner.send("/tiers recompute")
    await owner.expect("Changed tier: 0 (up 0, down 0, new 0)")

    await li.send(f"/card {zhao}")
    await li.expect("Zhao", "💎 High value · loyal · lifetime value ¥")
    await li.send("/tiers")
    shown = await li.expect("Value tiers of your customers (2)", "High value: 1", "Low value: 1")
    assert "Recompute" not in str(shown.get("reply_markup"))
    await li.press("High value")
    await li.expect("High value: your top 1 by lifetime value")
    await li.press("Zhao")
    await li.expect("Zhao", "High value")

    await owner.send("/tiers")
    await owner.expect("Value tiers of the shop (3 customers)", "Medium value: 1", "loyal: 1")
    await owner.send("/find tier:high")
    await owner.expect("Found 1 for “tier:high”")
    await owner.press("Zhao")
    await owner.expect("Zhao", "High value")
    await owner.send("/find segment:potential")
    await owner.expect("Found 2 for “segment:potential”")
    await owner.send("/find Qian tier:high")
    await owner.expect("Nothing found for “Qian tier:high”", "see /tiers")
    await owner.send("/find tier:low Qia")
    await owner.expect("Found 1 for “tier:low Qia”")
    await owner.send("/find tier:gold")
    await owner.expect("The tier is high, medium or low, like /find tier:high.")
    await owner.send("/find segment:vip")
    await owner.expect("The segment is champions", "slipping, hibernating")
    await chen.send("/find tier:high")
    await chen.expect("Nothing found for “tier:high”")
    await chen.send("/find tier:medium")
    await chen.expect("Found 1 for “tier:medium”")


async def test_a_survey_to_high_value_customers(
    chat: ChatBot,
    workspace: Workspace,
    person: Callable[..., Person],
) -> None:
    owner = person(1001, "Wang")
    await owner.send(f"/start {workspace.owner_payload}")
    await owner.expect("Welcome to")
    alice, bob = person(3001, "Alice"), person(3002, "Bob")
    await join(alice, workspace.slug, accept=True)
    await join(bob, workspace.slug, accept=True)
    db = chat.db_path
    for who, amount in ((alice, 900), (alice, 900), (bob, 5)):
        await owner.send(f"/buy {customer_id(db, who.id)} {amount}")
        await owner.expect("recorded for")
    await owner.send("/tiers recompute")
    await owner.expect("Value tiers recomputed: 2 buyers")

    await owner.send("/campaign new")
    await owner.expect("What kind")
    await owner.press("Satisfaction survey")
    await owner.expect("Which message template")
    await owner.press("Survey invitation")
    await owner.expect("Who gets it", "(2 customers)")
    await owner.press("By value tier")
    await owner.expect("Which value tier")
    await owner.send("gold")
    await owner.expect("tap one of the choices")
    await owner.expect("Which value tier")
    await owner.press("High value")
    await owner.expect("Who gets it", "value tier High value", "(1 customer)")
    await owner.press("Done")
    await owner.expect("When? Tap Now, or type a date")
    day = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    await owner.send(day)
    await owner.expect("At what time")
    await owner.press("10:00")
    await owner.expect("a name for this campaign")
    await owner.press("Satisfaction survey")
    await owner.expect(
        "Please check", "value tier High value", f"on {day} at 10:00", "It reaches 1 customer"
    )
    await owner.press("Create")
    await owner.expect("Campaign Satisfaction survey created")
    await owner.expect("Satisfaction survey", "value tier High value", "(1 customer now)")
    assert query(db, "SELECT kind, template_key, audience, status FROM campaign") == [
        ("survey", "survey_invitation", '{"value_tiers": ["high"]}', "active")
    ]
