"""/today's figures add up, and /tag with an unknown tag says so and lets an owner create it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.localtime import local_day, local_midnight, zone
from tests.e2e.harness import BotOptions, Person, Workspace, execute, query
from tests.e2e.test_followups import REP, add_customer, member_id, owner_and_rep, stamp


def labels(message: dict[str, Any]) -> list[str]:
    """Return the labels of a message's inline buttons."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return [button["text"] for row in rows for button in row]


@pytest.mark.parametrize("framework", ["ptb", "aiogram"])
async def test_today_adds_up_and_a_missing_tag_can_be_created(
    options: BotOptions,
    workspace: Workspace,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
) -> None:
    await start_bot(options)
    owner, rep = await owner_and_rep(workspace, person)
    db = options.db_path
    rep_id = member_id(db, REP)
    now = datetime.now(UTC)
    zhao = add_customer(db, "Zhao Min", rep_id)
    sun = add_customer(db, "Sun Li", rep_id)
    add_customer(db, "Qian Bo", rep_id)  # added just now: not "not contacted for 7 days"
    month_ago = stamp(now - timedelta(days=30))
    execute(db, "UPDATE customer SET created_at = ? WHERE id IN (?, ?)", month_ago, zhao, sun)
    shanghai = zone("Asia/Shanghai")
    midnight = local_midnight(local_day(now, shanghai) + timedelta(days=1), shanghai)
    for text, due in (
        ("bring the tea set", now - timedelta(hours=3)),
        ("send the invoice", now - timedelta(hours=1)),
        ("call about oolong", now + (midnight - now) / 2),
    ):
        execute(
            db,
            "INSERT INTO reminder (workspace_id, member_id, customer_id, text, due_at, created_at)"
            " VALUES (1, ?, ?, ?, ?, ?)",
            rep_id,
            zhao,
            text,
            stamp(due),
            month_ago,
        )

    await rep.send("/today")
    today = await rep.expect("Today: 3 due, 2 of them overdue.", "Not contacted for 7 days: 2")
    assert "bring the tea set" in today["text"]
    assert "send the invoice" in today["text"]
    assert "call about oolong" in today["text"]
    assert "Qian Bo" not in today["text"]
    await owner.send("/today")
    await owner.expect("Li: 3 due, 2 of them overdue; 2 not contacted for 7 days")

    await rep.send(f"/tag {zhao} +oolong")
    plain = await rep.expect("There's no tag called oolong. See /tags.")
    assert "Did you mean" not in plain["text"]
    assert labels(plain) == []

    await owner.send(f"/tag {zhao} +oolong")
    offer = await owner.expect("There's no tag called oolong. See /tags.", "weight 0")
    assert labels(offer) == ["➕ Create tag “oolong”"]
    await owner.press("Create tag")
    await owner.expect("Tag oolong created: interest, weight 0.", "Zhao Min", "oolong")
    assert query(db, "SELECT name, dimension, weight FROM tag") == [("oolong", "interest", 0)]
    assert query(db, "SELECT count(*) FROM customer_tag WHERE customer_id = ?", zhao) == [(1,)]
