"""The inbox desk through the emulator: /inbox with its wait, /history, the card, /transfer.

Under both frameworks: the desk's lists, paging buttons and the handover notice
(sent after commit, then recorded) go through each adapter's send, edit and
callback paths. Edge cases and an injected clock are in tests/handlers/test_inbox_desk.py.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.e2e.harness import BotOptions, Person, Workspace, execute, query
from tests.e2e.test_followups import stamp
from tests.e2e.test_pipeline import LI, open_shop, seed_customer

SUN = 2001


@pytest.mark.parametrize("framework", ["ptb", "aiogram"])
async def test_a_waiting_customer_is_listed_shown_and_handed_over(
    options: BotOptions,
    workspace: Workspace,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
) -> None:
    crew = await open_shop(options, workspace, start_bot, person)
    db = options.db_path
    sun_id = seed_customer(db, "Sun", LI)
    execute(db, "UPDATE customer SET tg_user_id = ?, chat_id = ? WHERE id = ?", SUN, SUN, sun_id)
    sun = person(SUN, "Sun")

    await sun.send("do you have aged pu'er? I'd like 2 cakes")
    await sun.expect("Li from Wang's Tea House will answer you here.")
    await crew.li.expect(f"Sun (#{sun_id})")

    # Two hours and five minutes pass before Li looks at the inbox.
    (since,) = query(db, "SELECT waiting_since FROM chat_thread")[0]
    earlier = datetime.fromisoformat(since).replace(tzinfo=UTC) - timedelta(hours=2, minutes=5)
    execute(db, "UPDATE chat_thread SET waiting_since = ?", stamp(earlier))
    await crew.li.send("/inbox")
    inbox = await crew.li.expect("Open conversations: 1 (1 unanswered)")
    assert f"1. Sun (#{sun_id}) · ⏳ waiting 2 h 5 min" in inbox["text"]
    assert "👤 do you have aged pu'er? I'd like 2 cakes" in inbox["text"]

    await crew.li.send(f"/history {sun_id}")
    page = await crew.li.expect(f"Conversation with Sun (#{sun_id}): 1 message\n")
    assert page["text"].endswith("👤 do you have aged pu'er? I'd like 2 cakes")
    await crew.li.press("📇 Open card")
    card = await crew.li.expect("💬 Conversation", f"/history {sun_id} for all")
    assert "👤 do you have aged pu'er? I'd like 2 cakes" in card["text"]

    await crew.li.send(f"/transfer {sun_id} Chen")
    await crew.li.expect(f"Handed over to Chen: Sun (#{sun_id}).")
    notice = await crew.chen.expect("🔀 Li handed you a conversation:", f"Sun (#{sun_id})")
    assert "👤 do you have aged pu'er? I'd like 2 cakes" in notice["text"]
    await crew.chen.press("↩️ Reply", notice)
    await crew.chen.expect("Send your reply to Sun")
    await crew.chen.send("Yes, the 2015 vintage. Shall I deliver tomorrow?")
    reply = await sun.expect("Yes, the 2015 vintage. Shall I deliver tomorrow?")
    assert reply["text"].endswith("— Chen")

    await crew.li.send("/inbox")
    await crew.li.expect("📭 No open conversations. Nice work!")
    await crew.chen.send("/inbox")
    answered = await crew.chen.expect("Open conversations: 1 (0 unanswered)")
    assert f"Sun (#{sun_id}) · ✔️ answered" in answered["text"]
