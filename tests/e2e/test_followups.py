"""/log, /remind, /today and /digest as a rep and an owner see them."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import BotOptions, Person, Workspace, execute, query

# A chat flow, not the adapters: one framework (see tests/e2e/conftest.py).
pytestmark = pytest.mark.parametrize("framework", ["aiogram"])

OWNER, REP = 1001, 2002
# A short scheduler tick for tests that watch a job send nothing more: that many ticks.
TICK, QUIET_TICKS = 0.5, 5


def stamp(moment: datetime) -> str:
    """Return a UTC instant the way the bot stores it in SQLite."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def add_customer(db_path: Path, name: str, owner_member_id: int | None) -> int:
    """Insert a customer row owned by a member and return its id."""
    now = stamp(datetime.now(UTC))
    execute(
        db_path,
        "INSERT INTO customer (workspace_id, owner_member_id, name, kind, consent, reachable,"
        " source, stage, score, created_at, updated_at)"
        " VALUES (1, ?, ?, 'customer', 'unknown', 1, 'staff', 'new', 0, ?, ?)",
        owner_member_id,
        name,
        now,
        now,
    )
    return int(query(db_path, "SELECT max(id) FROM customer")[0][0])


async def owner_and_rep(
    workspace: Workspace, person: Callable[..., Person]
) -> tuple[Person, Person]:
    """Bring the owner in with the workspace invite and a rep with the owner's /invite."""
    owner = person(OWNER, "Wang")
    await owner.send(f"/start {workspace.owner_payload}")
    await owner.expect("Welcome to")
    await owner.send("/invite staff")
    invite = await owner.expect("Invite for a new")
    payload = re.search(r"start=(inv_[\w-]+)", invite["text"])
    assert payload is not None
    rep = person(REP, "Li")
    await rep.send(f"/start {payload.group(1)}")
    await rep.expect("Welcome to")
    return owner, rep


def member_id(db_path: Path, tg_user_id: int) -> int:
    """Return the member id of a Telegram user."""
    return int(query(db_path, "SELECT id FROM member WHERE tg_user_id = ?", tg_user_id)[0][0])


async def test_log_dialog_reasks_at_every_step_and_saves(
    options: BotOptions,
    workspace: Workspace,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
    emu: Any,
) -> None:
    await start_bot(options)
    owner, rep = await owner_and_rep(workspace, person)
    mine = add_customer(options.db_path, "Zhao Min", member_id(options.db_path, REP))
    theirs = add_customer(options.db_path, "Qian Bo", member_id(options.db_path, OWNER))

    await rep.send(f"/log {theirs}")
    await rep.expect(f"can't find customer #{theirs}")
    await rep.send("/log")
    await rep.expect("customer's number", "/log 12")

    await rep.send(f"/log {mine}")
    await rep.expect("Zhao Min", "How were you in touch")
    await rep.send("fax")
    await rep.expect("tap one of the buttons")
    await rep.expect("How were you in touch")
    await rep.press("Visit")
    await rep.expect("What happened")
    await emu.post("sticker", user_id=REP)
    await rep.expect("Please answer with a text message")
    await rep.expect("What happened")
    await rep.send("Tasted the new oolong <b>twice</b>")
    await rep.expect("outcome")
    await rep.send("/skip")
    await rep.expect("tap an outcome or type one")
    await rep.expect("outcome")
    await rep.press("Interested")
    await rep.expect("next step")
    await rep.send("someday maybe")
    await rep.expect("couldn't read that time")
    await rep.expect("next step")
    await rep.send("3d send samples")
    done = await rep.expect("Logged your contact", "Zhao Min", "send samples")
    assert done["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == f"ct:{mine}"

    assert query(
        options.db_path, "SELECT channel, summary, outcome, next_step, customer_id FROM follow_up"
    ) == [("visit", "Tasted the new oolong <b>twice</b>", "Interested", "send samples", mine)]
    assert query(
        options.db_path, "SELECT last_contact_at IS NOT NULL FROM customer WHERE id = ?", mine
    ) == [(1,)]
    rows = query(options.db_path, "SELECT text, customer_id, follow_up_id FROM reminder")
    assert rows == [("send samples", mine, 1)]
    assert query(options.db_path, "SELECT count(*) FROM conversation_state") == [(0,)]


async def test_remind_today_and_digest(
    options: BotOptions,
    workspace: Workspace,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
) -> None:
    # Scheduler ticks every 0.5 s: "only once" below is watched over QUIET_TICKS of them.
    options.extra_env["SCRM_SCHEDULER__TICK_SECONDS"] = str(TICK)
    await start_bot(options)
    owner, rep = await owner_and_rep(workspace, person)
    rep_id = member_id(options.db_path, REP)
    customer = add_customer(options.db_path, "Zhao Min", rep_id)
    add_customer(options.db_path, "Sun Li", rep_id)
    # Both were added long ago and never contacted, so /today counts them.
    added = stamp(datetime.now(UTC) - timedelta(days=30))
    execute(options.db_path, "UPDATE customer SET created_at = ?", added)

    await rep.send(f"/remind {customer} tomorrow 10:00 call about pu'er")
    await rep.expect("OK! On", "10:00", "Zhao Min", "call about pu'er")
    await rep.send(f"/remind {customer} whenever call")
    await rep.expect("couldn't read that time")
    # 00:00 has always passed today in Shanghai, so the bot asks back with tomorrow.
    await rep.send(f"/remind {customer} 00:00 send the invoice")
    await rep.expect("Which time do you mean")
    await rep.press("00:00")
    await rep.expect("OK! On", "00:00", "send the invoice")
    assert query(options.db_path, "SELECT count(*) FROM reminder WHERE member_id = ?", rep_id) == [
        (2,)
    ]

    overdue = datetime.now(UTC) - timedelta(hours=2)
    execute(
        options.db_path,
        "INSERT INTO reminder (workspace_id, member_id, customer_id, text, due_at, fired_at,"
        " created_at) VALUES (1, ?, ?, 'bring the tea set', ?, ?, ?)",
        rep_id,
        customer,
        stamp(overdue),
        stamp(overdue),
        stamp(overdue),
    )
    await rep.send("/today")
    today = await rep.expect(
        "Today", "1 of them overdue", "bring the tea set", "Not contacted for 7 days"
    )
    assert "Sun Li" in today["text"]
    buttons = [b["callback_data"] for row in today["reply_markup"]["inline_keyboard"] for b in row]
    assert f"ct:{customer}" in buttons

    await owner.send("/today")
    await owner.expect("Li:", "1 of them overdue", "2 not contacted for 7 days", "tea set")

    await rep.send("/digest")
    await rep.expect("Daily digest: off")
    await rep.press("09:00")
    await rep.expect("Every day at 09:00", "Asia/Shanghai")
    await rep.send("/digest 25:00")
    await rep.expect("time like 08:30")
    await rep.send("/digest off")
    await rep.expect("turned off")
    assert query(options.db_path, "SELECT digest_time FROM member WHERE id = ?", rep_id) == [
        (None,)
    ]
    # A time already passed today: today's digest comes at once, and only once.
    await rep.send("/digest 00:00")
    await rep.expect("Every day at 00:00")
    await rep.expect("Your daily digest", "bring the tea set")
    assert await rep.quiet(TICK * QUIET_TICKS) == []
    sent = query(options.db_path, "SELECT count(*) FROM audit_log WHERE action = 'digest.sent'")
    assert sent == [(1,)]
