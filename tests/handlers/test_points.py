"""Loyalty points in chat: earned on /buy, seen by the customer, redeemed, adjusted, scoped."""

from __future__ import annotations

from collections.abc import Callable

from tests.e2e.harness import Workspace, query
from tests.handlers.chat import ChatBot, Person, open_shop

SUN_TG, OTHER_OWNER = 2001, 1101


async def test_points_earned_seen_redeemed_and_scoped(
    chat: ChatBot,
    workspace: Workspace,
    person: Callable[..., Person],
) -> None:
    other = await chat.create_workspace("Li's Porcelain")
    crew = await open_shop(chat, workspace)
    db = chat.db_path
    li, chen, owner = crew.li, crew.chen, crew.owner
    sun, rival = person(SUN_TG, "Sun"), person(OTHER_OWNER, "Qian")
    await rival.send(f"/start {other.owner_payload}")
    await rival.expect("Welcome to", "Li's Porcelain")

    # Sun joins through Li's own link and says yes to messages.
    await li.send("/mylink")
    link = await li.expect("Your personal link")
    await sun.send(f"/start {link['text'].split('?start=')[1].split()[0]}")
    await sun.expect("May we send you messages")
    await sun.press("Yes")
    await sun.expect("You're subscribed to")
    sun_id = int(query(db, "SELECT id FROM customer WHERE tg_user_id = ?", SUN_TG)[0][0])
    await sun.send("/points")
    await sun.expect("Wang's Tea House", "0 points", "No points yet.")

    await li.send(f"/buy {sun_id} 128.50 Longjing")
    await li.expect(f"¥128.50 recorded for Sun (#{sun_id})", "⭐ +128 points · balance 128")
    await sun.send("/points")
    await sun.expect("Wang's Tea House", "128 points", "+128 purchase")

    await li.send(f"/redeem {sun_id} 100 tea cup")
    await li.expect(f"100 points redeemed for Sun (#{sun_id}). New balance: 28.")
    await li.send(f"/redeem {sun_id} 50")
    await li.expect(f"Sun (#{sun_id}) has 28 points, so 50 can't come off.")
    await li.send(f"/redeem {sun_id} lots")
    await li.expect("Points are a whole number above zero, like 50.")
    await sun.send("/points")
    seen = await sun.expect("28 points", "-100 redeemed: tea cup", "+128 purchase")
    assert seen["text"].index("-100") < seen["text"].index("+128")  # newest first

    # Only admins adjust, and only with a reason; the rate is theirs to set.
    await li.send(f"/adjust {sun_id} +20 birthday gift")
    await li.expect("Sorry, /adjust isn't available to you.")
    await owner.send(f"/adjust {sun_id} +20")
    await owner.expect("Please add a reason, like: /adjust 12 +50 birthday gift")
    await owner.send(f"/adjust {sun_id} +20 birthday gift")
    await owner.expect(f"Sun (#{sun_id}): +20 points (birthday gift). New balance: 48.")
    await owner.send("/pointsrate")
    await owner.expect("Points rate: 1 per ¥1 spent.")
    await owner.send("/pointsrate 2")
    await owner.expect("Points rate set: 2 per ¥1 spent.")
    await li.send(f"/buy {sun_id} 10")
    await li.expect("⭐ +20 points · balance 68")
    await owner.send(f"/points {sun_id}")
    await owner.expect(
        f"Points of Sun (#{sun_id}): 68",
        "+20 purchase",
        "+20 adjusted: birthday gift",
        "-100 redeemed: tea cup",
    )

    # Another rep of the shop, and staff of another shop, see nothing of Sun's points.
    for outsider in (chen, rival):
        await outsider.send(f"/points {sun_id}")
        await outsider.expect(f"I can't find customer #{sun_id} among yours.")
        await outsider.send(f"/redeem {sun_id} 1")
        await outsider.expect(f"I can't find customer #{sun_id} among yours.")
    await sun.send("/help")
    help_text = await sun.expect("/points")
    assert "/redeem" not in help_text["text"] and "/adjust" not in help_text["text"]
    await sun.send(f"/redeem {sun_id} 68")
    await sun.expect("Sorry, /redeem isn't available to you.")

    assert query(
        db,
        "SELECT reason, delta, note FROM points_entry WHERE customer_id = ? ORDER BY id",
        sun_id,
    ) == [
        ("purchase", 128, None),
        ("redeem", -100, "tea cup"),
        ("adjust", 20, "birthday gift"),
        ("purchase", 20, None),
    ]
    assert query(db, "SELECT action FROM audit_log WHERE action LIKE 'points.%' ORDER BY id") == [
        ("points.redeem",),
        ("points.adjust",),
        ("points.rate",),
    ]
