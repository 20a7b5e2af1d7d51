"""The inbox's scheduler jobs in a running bot: a rep's arrival notice, reminder, escalation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.e2e.harness import BotOptions, Person, Workspace, execute, query
from tests.e2e.test_followups import QUIET_TICKS, TICK, stamp
from tests.e2e.test_transfer import join_team

OWNER, LI, SUN = 1001, 1002, 2001


def labels(message: dict[str, Any]) -> list[str]:
    """Return the labels of a message's buttons."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return [button["text"] for row in rows for button in row]


def waiting_for(db_path: Any, minutes: int) -> None:
    """Make the open conversation's unanswered message ``minutes`` old."""
    since = datetime.now(UTC) - timedelta(minutes=minutes)
    execute(db_path, "UPDATE chat_thread SET waiting_since = ?", stamp(since))


@pytest.mark.parametrize("framework", ["ptb", "aiogram"])
async def test_rep_hears_of_a_new_customer_then_the_reminder_and_the_owner_the_escalation(
    options: BotOptions,
    workspace: Workspace,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
) -> None:
    options.extra_env["SCRM_SCHEDULER__TICK_SECONDS"] = str(TICK)
    await start_bot(options)
    db = options.db_path
    owner, li, sun = person(OWNER, "Wang"), person(LI, "Li"), person(SUN, "Sun")
    await join_team(owner, li, workspace)
    await owner.expect("🙋 Li joined the shop as staff.")

    # Sun joins through Li's personal link: Li is told, with the card a tap away.
    await li.send("/mylink")
    link = await li.expect("Your personal link")
    await sun.send(f"/start {link['text'].split('?start=')[1].split()[0]}")
    await sun.expect("May we send you messages")
    notice = await li.expect("👋 Sun joined through your link.")
    assert labels(notice) == ["📇 Card"]
    await sun.press("Yes")
    await li.expect("✅ Sun agreed to get messages from the shop.")

    # The shop wants answers within 30 minutes (/replysla 30m); Sun asks and waits.
    execute(
        db,
        "INSERT INTO inbox_settings (workspace_id, reply_sla_minutes, sign_replies, updated_at)"
        " VALUES (1, 30, 1, ?)",
        stamp(datetime.now(UTC)),
    )
    await sun.send("do you have aged pu'er?")
    await li.expect("do you have aged pu'er?")
    await sun.expect("will answer you here")

    waiting_for(db, 31)
    reminder = await li.expect("⏰ Sun has waited 31 min for an answer.")
    assert labels(reminder) == ["↩️ Reply", "📇 Card"]
    assert await owner.quiet(TICK * QUIET_TICKS) == []

    waiting_for(db, 61)
    escalation = await owner.expect("🚨 Sun has waited 1 h 1 min; Li has not answered.")
    assert labels(escalation) == ["↩️ Reply", "📇 Card"]

    # Each fires once, however many ticks pass.
    assert await li.quiet(TICK * QUIET_TICKS) == []
    assert await owner.quiet(0) == []
    assert query(
        db, "SELECT sla_reminded_at IS NOT NULL, sla_escalated_at IS NOT NULL FROM chat_thread"
    ) == [(1, 1)]

    # The owner answers from the escalation itself.
    await owner.press("Reply", escalation)
    await owner.expect("Send your reply to Sun")
    await owner.send("Yes, a 2015 cake. I'll keep two for you.")
    await sun.expect("Yes, a 2015 cake.")
