"""Search, card, act: a rep logs, reminds, records a purchase and tags by taps alone."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.e2e.harness import BotOptions, Person, Workspace, execute, query
from tests.e2e.test_followups import REP, add_customer, member_id, owner_and_rep, stamp


@pytest.mark.parametrize("framework", ["ptb", "aiogram"])
async def test_find_card_and_act_by_taps_without_typing_an_id(
    options: BotOptions,
    workspace: Workspace,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
) -> None:
    await start_bot(options)
    db = options.db_path
    _, rep = await owner_and_rep(workspace, person)
    zhao = add_customer(db, "Zhao Min", member_id(db, REP))
    execute(
        db,
        "INSERT INTO tag (workspace_id, name, dimension, weight, created_at)"
        " VALUES (1, 'vip', 'interest', 30, ?)",
        stamp(datetime.now(UTC)),
    )

    async def open_card() -> None:
        await rep.send("/find Zhao")
        await rep.expect("Found 1")
        await rep.press("Zhao Min")
        await rep.expect(f"Zhao Min (#{zhao})")

    await open_card()
    await rep.press("📝 Log")
    await rep.expect("Contact with", "Zhao Min", "How were you in touch?")
    await rep.press("Call")
    await rep.expect("What happened?")
    await rep.send("asked about the autumn oolong")
    await rep.expect("And the outcome?")
    await rep.press("Interested")
    await rep.expect("What's the next step")
    await rep.send("/skip")
    await rep.expect("Logged your contact with", "Zhao Min")

    await open_card()
    await rep.press("⏰ Remind")
    await rep.expect("Reminder about", "Zhao Min", "when, and what?")
    await rep.send("tomorrow 10:00 bring samples")
    await rep.expect("I'll remind you about", "Zhao Min", "bring samples")

    await open_card()
    await rep.press("💰 Buy")
    await rep.expect("Purchase by", "Zhao Min", "how much?")
    await rep.send("88 Tieguanyin")
    await rep.expect("¥88.00 recorded for", "Zhao Min")

    await open_card()
    await rep.press("🏷 Tag")
    await rep.expect("Tap a tag")
    await rep.press("vip")
    await rep.expect("Zhao Min", "vip", "Score")
    await rep.press("Open card")
    card = await rep.expect(f"Zhao Min (#{zhao})", "Tags: vip", "asked about the autumn oolong")
    assert "bring samples" in card["text"]
    assert "1 purchase" in card["text"]

    assert query(db, "SELECT channel, outcome FROM follow_up WHERE customer_id = ?", zhao) == [
        ("call", "Interested")
    ]
    assert query(db, "SELECT text FROM reminder WHERE customer_id = ?", zhao) == [
        ("bring samples",)
    ]
    assert query(db, "SELECT amount_minor, note FROM purchase WHERE customer_id = ?", zhao) == [
        (8800, "Tieguanyin")
    ]
