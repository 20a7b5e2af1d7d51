"""A "Now" broadcast created at night is held until the morning, says so, and Run now sends it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.e2e.harness import BotOptions, Person, Workspace, execute, query, wait_for_row
from tests.e2e.test_campaigns import join

OWNER = 1001


def night_zone() -> str:
    """Return a fixed-offset zone where it is 03:xx right now (inside 21:00–09:00)."""
    offset = (3 - datetime.now(UTC).hour) % 24
    if offset > 14:
        offset -= 24
    # Etc/GMT-8 is UTC+8: the sign is reversed.
    return f"Etc/GMT{-offset:+d}" if offset else "Etc/GMT"


@pytest.mark.parametrize("framework", ["ptb", "aiogram"])
async def test_a_night_broadcast_is_held_until_morning_and_run_now_sends_it(
    options: BotOptions,
    workspace: Workspace,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
) -> None:
    execute(options.db_path, "UPDATE workspace SET timezone = ?", night_zone())
    await start_bot(options)
    owner = person(OWNER, "Wang")
    await owner.send(f"/start {workspace.owner_payload}")
    await owner.expect("Welcome to")
    alice, bob = person(3001, "Alice"), person(3002, "Bob")
    await join(alice, workspace.slug, accept=True)
    await join(bob, workspace.slug, accept=True)

    await owner.send("/campaign new")
    await owner.expect("What kind")
    await owner.press("One-off broadcast")
    await owner.expect("Which message template")
    await owner.press("Holiday greeting")
    await owner.expect("Who gets it")
    await owner.press("Everyone opted in")
    await owner.expect("When? Tap Now")
    await owner.press("Now")
    await owner.expect("a name for this campaign")
    await owner.send("Night news")
    await owner.expect("It reaches 2 customers")
    await owner.press("Create")
    await owner.expect("Campaign Night news created")
    # The engine takes both messages and puts them back for the morning.
    await wait_for_row(
        options.db_path,
        "SELECT count(*) FROM outbox_message WHERE status = 'pending' AND reason = 'quiet_hours'",
        [(2,)],
        timeout=20,
    )
    assert await alice.quiet(0.5) == []

    await owner.send("/campaign 1")
    await owner.expect(
        "Status: ⏸ held until 09:00 — quiet hours 21:00–09:00", "sent 0 of 2 · waiting 2"
    )
    await owner.send("/campaigns")
    await owner.expect("Night news", "⏸ held until 09:00 — quiet hours 21:00–09:00")
    await owner.send("/campaign 1")
    await owner.expect("held until 09:00")
    await owner.press("Run now")
    await owner.expect("It is night for these customers: send anyway?")
    await owner.press("Yes, send now")
    await owner.expect("Sending 2 waiting messages now (run #1).")
    await alice.expect("Season's greetings, Alice!", timeout=30)
    await bob.expect("Season's greetings, Bob!", timeout=30)
    await owner.expect("Night news", "done", "Status: ✅ finished", "✅ Sent: 2", timeout=30)
    await owner.send("/campaign 1")
    await owner.expect("Status: ✅ finished", "sent 2 of 2 · waiting 0")
    assert query(
        options.db_path, "SELECT count(*) FROM audit_log WHERE action = 'campaign.send_held'"
    ) == [(1,)]
