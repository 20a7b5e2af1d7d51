"""/atrisk end to end: quiet customers listed per rep, a call plan and a care message sent."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.crm import churn
from bot.crm.store import create_engine, create_sessionmaker, unit_of_work
from tests.e2e.harness import BotOptions, Person, Workspace, execute, query
from tests.e2e.test_campaigns import customer_id, join, stamp
from tests.e2e.test_pipeline import CHEN, LI, member_id, open_shop, seed_customer

# A chat flow, not the adapters: one framework (see tests/e2e/conftest.py).
pytestmark = pytest.mark.parametrize("framework", ["ptb"])


MEI, BOB = 3001, 3002


async def buy_long_ago(buyer: Person, db: Path, customer: int) -> None:
    """Record three purchases, then move them 100, 86 and 72 days back (every 14 days)."""
    for _ in range(3):
        await buyer.send(f"/buy {customer} 88")
        await buyer.expect("recorded for")
    ids = [r[0] for r in query(db, "SELECT id FROM purchase WHERE customer_id = ?", customer)]
    now = datetime.now(UTC)
    for purchase, days in zip(ids, (100, 86, 72), strict=True):
        at = stamp(now - timedelta(days=days))
        execute(db, "UPDATE purchase SET at = ? WHERE id = ?", at, purchase)
    execute(db, "UPDATE customer SET last_contact_at = NULL WHERE id = ?", customer)


async def detect(db: Path) -> list[churn.AtRisk]:
    """Run the daily churn detection on the bot's database, as its job does."""
    engine = create_engine(f"sqlite+aiosqlite:///{db}")
    try:
        async with unit_of_work(create_sessionmaker(engine)) as session:
            return await churn.detect(session, 1, now=datetime.now(UTC))
    finally:
        await engine.dispose()


async def press_data(who: Person, data: str) -> None:
    """Press the button with this callback data on the last message the person saw."""
    message = who.last
    buttons = [b for row in message["reply_markup"]["inline_keyboard"] for b in row]
    assert data in [b.get("callback_data") for b in buttons], buttons
    await who.emu.post("callback", user_id=who.id, message_id=message["message_id"], data=data)


async def test_atrisk_lists_per_rep_and_sends_a_care_message(
    options: BotOptions,
    workspace: Workspace,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
) -> None:
    crew = await open_shop(options, workspace, start_bot, person)
    li, chen, owner = crew.li, crew.chen, crew.owner
    await owner.send("/quiet off")
    await owner.expect("Quiet hours are off")
    mei, bob = person(MEI, "Mei"), person(BOB, "Bob")
    await join(mei, workspace.slug, accept=True)
    await join(bob, workspace.slug, accept=False)
    db = options.db_path
    mei_id, bob_id = customer_id(db, MEI), customer_id(db, BOB)
    execute(
        db,
        "UPDATE customer SET owner_member_id = ?, phone = '+8613800138000' WHERE id = ?",
        member_id(db, LI),
        mei_id,
    )
    execute(db, "UPDATE customer SET owner_member_id = ? WHERE id = ?", member_id(db, LI), bob_id)
    zhao_id = seed_customer(db, "Zhao", CHEN, kind="customer")

    await li.send("/atrisk")
    await li.expect("Nobody is drifting away right now")
    await buy_long_ago(li, db, mei_id)
    await buy_long_ago(li, db, bob_id)
    await buy_long_ago(chen, db, zhao_id)
    assert {a.customer_id for a in await detect(db)} == {mei_id, bob_id, zhao_id}

    await li.send("/atrisk")
    listing = await li.expect(
        "At risk: 2 customers", "Mei", "quiet for 72 days (usually every 14)", "Bob"
    )
    assert "Zhao" not in listing["text"]
    await chen.send("/atrisk")
    shown = await chen.expect("At risk: 1 customer,", "Zhao")
    assert "Mei" not in shown["text"]
    await owner.send("/atrisk")
    await owner.expect("At risk: 3 customers", "Mei", "👤 Li", "Zhao", "👤 Chen")
    await owner.send("/atrisk mine")
    await owner.expect("Nobody is drifting away right now")
    await owner.send("/atrisk everything")
    await owner.expect("Send /atrisk, or /atrisk mine")

    # Bob said no to messages: the button explains instead of sending.
    li.last = listing
    await press_data(li, f"ar:care:{bob_id}")
    await li.expect("Bob hasn't agreed to get messages")

    li.last = listing
    await press_data(li, f"ar:care:{mei_id}")
    await li.expect("care message to Mei is on its way", timeout=15)
    await mei.expect("it's been a while", "Wang's Tea House", "Stop these messages", timeout=30)
    assert query(db, "SELECT audience FROM campaign WHERE template_key = 'care'") == [
        (f'{{"customer_ids": [{mei_id}]}}',)
    ]
    li.last = listing
    await press_data(li, f"ar:care:{mei_id}")
    await li.expect("already queued today")
    assert await bob.quiet() == []

    li.last = listing
    await press_data(li, f"ar:call:{mei_id}")
    await li.expect("Call Mei", "+8613800138000", "log it")
    await li.press("Remind me tomorrow")
    await li.expect("I'll remind you", "Call Mei")
    assert query(db, "SELECT text FROM reminder WHERE customer_id = ?", mei_id) == [("Call Mei",)]


async def test_owner_pages_through_many_and_sees_tier_drops(
    options: BotOptions,
    workspace: Workspace,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
) -> None:
    crew = await open_shop(options, workspace, start_bot, person)
    db = options.db_path
    since = datetime.now(UTC) - timedelta(days=1)
    for n in range(9):
        customer = seed_customer(db, f"Pool {n}", None, kind="customer")
        execute(
            db,
            "UPDATE customer SET at_risk_since = ?, at_risk_reason = 'tier_drop',"
            " previous_value_tier = 'high', value_tier = 'medium' WHERE id = ?",
            stamp(since + timedelta(minutes=n)),
            customer,
        )
    owner = crew.owner
    await owner.send("/atrisk")
    first = await owner.expect(
        "At risk: 9 customers, newest first (1–8)",
        "Pool 8",
        "dropped from high to medium value · 👤 unassigned",
    )
    assert "Pool 0" not in first["text"]
    await owner.press("Older")
    page = await owner.expect("At risk: 9 customers, newest first (9–9)", "Pool 0")
    assert page["message_id"] == first["message_id"]
    await owner.press("Newer")
    await owner.expect("(1–8)", "Pool 8")
    await crew.li.send("/atrisk")
    await crew.li.expect("Nobody is drifting away right now")
