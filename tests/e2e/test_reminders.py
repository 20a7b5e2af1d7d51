"""Reminder delivery: on time, once and marked late after downtime, done and snooze."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.e2e.harness import BotOptions, Person, Workspace, execute, query
from tests.e2e.test_followups import (
    QUIET_TICKS,
    REP,
    TICK,
    add_customer,
    member_id,
    owner_and_rep,
    stamp,
)

# Seconds after its due minute within which a reminder must arrive (the bound).
ON_TIME = 5


@pytest.mark.parametrize("framework", ["ptb"])
async def test_reminder_two_minutes_ahead_arrives_within_seconds_of_its_minute(
    options: BotOptions,
    workspace: Workspace,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
) -> None:
    """Under python-telegram-bot only: delivery goes through the Messenger port either way.

    The two minutes pass in the database, as in the downtime test below: the reminder
    is moved to fall due a few seconds from now, and the running bot's scheduler must
    deliver it within ON_TIME seconds of that. tests/handlers/test_reminder_job.py
    checks the same job on an injected clock (never early, "Late" only when late).
    """
    await start_bot(options)
    _, rep = await owner_and_rep(workspace, person)
    customer = add_customer(options.db_path, "Zhao Min", member_id(options.db_path, REP))
    asked = datetime.now(UTC)
    await rep.send(f"/remind {customer} 2m call about the order")
    await rep.expect("OK! On", "call about the order")
    due_text = query(options.db_path, "SELECT due_at FROM reminder")[0][0]
    due = datetime.fromisoformat(due_text).replace(tzinfo=UTC)
    assert asked + timedelta(minutes=1) <= due <= asked + timedelta(minutes=2)

    due = datetime.now(UTC) + timedelta(seconds=2)
    execute(options.db_path, "UPDATE reminder SET due_at = ?", stamp(due))
    wait = (due - datetime.now(UTC)).total_seconds() + ON_TIME
    message = await rep.expect("Reminder", "call about the order", "Zhao Min", timeout=wait)
    arrived = datetime.now(UTC)
    assert arrived - due < timedelta(seconds=ON_TIME)
    assert "Late" not in message["text"]

    await rep.press("1h")
    await rep.expect("Snoozed until", "call about the order")
    due_at, fired_at = query(options.db_path, "SELECT due_at, fired_at FROM reminder")[0]
    assert fired_at is None
    assert datetime.fromisoformat(due_at).replace(tzinfo=UTC) > arrived + timedelta(minutes=58)


# Under aiogram: the first test runs under python-telegram-bot, and test_campaigns.py
# restarts a python-telegram-bot process in the middle of a dialog.
@pytest.mark.parametrize("framework", ["aiogram"])
async def test_reminder_due_while_stopped_arrives_once_after_restart_and_says_late(
    options: BotOptions,
    workspace: Workspace,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
) -> None:
    options.extra_env["SCRM_SCHEDULER__TICK_SECONDS"] = str(TICK)
    bot = await start_bot(options)
    _, rep = await owner_and_rep(workspace, person)
    customer = add_customer(options.db_path, "Zhao Min", member_id(options.db_path, REP))
    await rep.send(f"/remind {customer} 30m bring samples")
    await rep.expect("OK! On", "bring samples")
    await bot.stop()

    # The bot was down across the due time: it fell due 10 minutes ago.
    due = (datetime.now(UTC) - timedelta(minutes=10)).replace(second=0, microsecond=0)
    execute(options.db_path, "UPDATE reminder SET due_at = ?", stamp(due))
    bot = await start_bot(options)
    message = await rep.expect("Reminder", "bring samples", "Late", "min ago")
    assert await rep.quiet(TICK * QUIET_TICKS) == []
    await bot.kill()
    await start_bot(options)
    assert await rep.quiet(TICK * QUIET_TICKS) == []
    rows = query(options.db_path, "SELECT fired_at IS NOT NULL, message_id FROM reminder")
    assert rows == [(1, message["message_id"])]

    await rep.press("Done", message)
    await rep.expect("Done: bring samples")
    assert query(options.db_path, "SELECT done_at IS NOT NULL FROM reminder") == [(1,)]
