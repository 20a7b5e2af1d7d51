"""Campaigns end to end: /campaign new, Run now, who gets it, opt-out mid-run, the report."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import BotOptions, Emulator, Person, Workspace, execute, query

OWNER = 1001
# Frank joins first, so his message goes out first and he can opt out mid-run.
OPTED_IN = {3001: "Frank", 3002: "Alice", 3003: "Bob", 3004: "Gina", 3005: "Hank"}
DECLINED, CAPPED, CONTACTED = (3006, "Carol"), (3007, "Dave"), (3008, "Erin")


def stamp(moment: datetime) -> str:
    """Return a UTC instant the way the bot stores it in SQLite."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


async def join(person: Person, slug: str, *, accept: bool) -> None:
    """Join the shop by its link and answer the consent question."""
    await person.send(f"/start w_{slug}")
    await person.expect("May we send you messages")
    if accept:
        await person.press("Yes")
        await person.expect("You're subscribed")
    else:
        await person.press("No, thanks")
        await person.expect("won't send you messages")


def customer_id(db_path: Path, tg_user_id: int) -> int:
    """Return the customer id of a Telegram user."""
    return int(query(db_path, "SELECT id FROM customer WHERE tg_user_id = ?", tg_user_id)[0][0])


def capped_by_two_sends(db_path: Path, customer: int) -> None:
    """Record two campaign messages sent to a customer yesterday (the default cap is 2 in 7)."""
    yesterday = stamp(datetime.now(UTC) - timedelta(days=1))
    execute(
        db_path,
        "INSERT INTO campaign (workspace_id, name, kind, template_key, audience, send_time,"
        " status, created_at) VALUES (1, 'Earlier', 'broadcast', 'holiday', '{}', '10:00',"
        " 'done', ?)",
        yesterday,
    )
    for occurrence in ("earlier-1", "earlier-2"):
        execute(
            db_path,
            "INSERT INTO campaign_run (workspace_id, campaign_id, occurrence, template_key,"
            " status, paid_broadcast, scheduled_for, materialised_at, total, error_streak,"
            " created_at, reported_at) VALUES (1, (SELECT max(id) FROM campaign), ?, 'holiday',"
            " 'finished', 0, ?, ?, 1, 0, ?, ?)",
            occurrence,
            yesterday,
            yesterday,
            yesterday,
            yesterday,
        )
        execute(
            db_path,
            "INSERT INTO outbox_message (workspace_id, run_id, customer_id, status, attempts,"
            " sent_at, updated_at) VALUES (1, (SELECT max(id) FROM campaign_run), ?, 'sent', 1,"
            " ?, ?)",
            customer,
            yesterday,
            yesterday,
        )


async def create_weekly(owner: Person, reach: int) -> None:
    """Walk the /campaign new dialog for a Monday 10:00 touchpoint, with a wrong answer or two."""
    await owner.send("/campaign new")
    await owner.expect("New campaign", "What kind")
    await owner.send("a fax campaign")
    await owner.expect("tap one of the kinds")
    await owner.expect("What kind")
    await owner.press("Weekly touchpoint")
    await owner.expect("Which message template")
    await owner.press("Weekly touchpoint")
    await owner.expect("Who gets it", f"({reach} customers)")
    await owner.press("By grade")
    await owner.expect("Which grade")
    await owner.send("Z")
    await owner.expect("tap one of the choices")
    await owner.expect("Which grade")
    await owner.press("A")
    await owner.expect("Who gets it", "grade A", "(0 customers)")
    await owner.press("Everyone opted in")
    await owner.expect("Which day of the week")
    await owner.press("Mon")
    await owner.expect("At what time")
    await owner.send("25:99")
    await owner.expect("time like 09:30")
    await owner.expect("At what time")
    await owner.send("10:00")
    await owner.expect("a name for this campaign")
    await owner.send("Weekly hello")
    await owner.expect("Please check", "every Mon at 10:00", f"It reaches {reach} customers")
    await owner.press("Create")
    await owner.expect("Campaign Weekly hello created")
    await owner.expect("Weekly hello", "Next send", "every Mon at 10:00")


@pytest.mark.parametrize("framework", ["aiogram"])  # a chat flow: one framework
async def test_weekly_touchpoint_reaches_exactly_the_right_customers_and_opt_out_wins(
    options: BotOptions,
    workspace: Workspace,
    emu: Emulator,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
) -> None:
    # One message a second keeps the run going while Frank opts out.
    options.extra_env["SCRM_DELIVERY__RATE_PER_SECOND"] = "1"
    await start_bot(options)
    owner = person(OWNER, "Wang")
    await owner.send(f"/start {workspace.owner_payload}")
    await owner.expect("Welcome to")
    await owner.send("/quiet off")
    await owner.expect("Quiet hours are off")
    await owner.send("/cap")
    await owner.expect("at most 2 campaign messages in 7 days")

    people = {uid: person(uid, name) for uid, name in OPTED_IN.items()}
    for uid, name in (DECLINED, CAPPED, CONTACTED):
        people[uid] = person(uid, name)
    for uid, who in people.items():
        await join(who, workspace.slug, accept=uid != DECLINED[0])
    db = options.db_path
    capped_by_two_sends(db, customer_id(db, CAPPED[0]))
    execute(
        db,
        "UPDATE customer SET last_contact_at = ? WHERE tg_user_id = ?",
        stamp(datetime.now(UTC)),
        CONTACTED[0],
    )

    # Everyone opted in and linked: the five, plus the capped and the contacted one.
    await create_weekly(owner, reach=7)
    await owner.press("Run now")
    await owner.expect("Sending now")

    frank = people[3001]
    await frank.expect("Hi Frank", "Wang's Tea House")
    await frank.press("Stop these messages")
    await frank.expect("Done, Frank", "won't send you any more messages")
    assert query(db, "SELECT status FROM campaign_run ORDER BY id DESC LIMIT 1") == [("running",)]
    for uid, name in list(OPTED_IN.items())[1:]:
        await people[uid].expect(f"Hi {name},", "this week's note")
    report = await owner.expect("Weekly hello", "done", timeout=30)
    assert "Sent: 5" in report["text"]
    await owner.send("/campaigns")
    listed = await owner.expect("Campaigns", "Weekly hello", "Next: 2026-", "sent 5 of 7")
    assert "skipped 2 (over the cap 1, contacted this week 1)" in listed["text"]
    await owner.press("Weekly hello")
    await owner.expect("Last run (", "sent 5 of 7 · waiting 0")

    for uid in (DECLINED[0], CAPPED[0], CONTACTED[0]):
        assert await people[uid].quiet(0.5) == []
    rows = query(
        db,
        "SELECT c.name, o.status, o.reason FROM outbox_message o JOIN customer c"
        " ON c.id = o.customer_id WHERE o.run_id = (SELECT max(id) FROM campaign_run)"
        " ORDER BY c.id",
    )
    assert rows == [
        *[(name, "sent", None) for name in OPTED_IN.values()],
        ("Dave", "skipped", "capped"),
        ("Erin", "skipped", "recently_contacted"),
    ]
    assert query(
        db, "SELECT action, source FROM consent_event WHERE source = 'campaign_button'"
    ) == [("opt_out", "campaign_button")]

    # A second campaign: Frank opted out, so he gets nothing more; Alice still does.
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
    await owner.send("Holiday hello")
    await owner.expect("It reaches 6 customers")
    await owner.press("Create")
    await people[3002].expect("Season's greetings, Alice!")
    await owner.expect("Holiday hello", "done", timeout=30)
    assert await frank.quiet(0.5) == []


# A chat flow with a restart in the middle: restarts under aiogram are in test_reminders.py.
@pytest.mark.parametrize("framework", ["ptb"])
async def test_a_welcome_campaign_greets_each_customer_who_opts_in(
    options: BotOptions,
    workspace: Workspace,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
) -> None:
    bot = await start_bot(options)
    owner = person(OWNER, "Wang")
    await owner.send(f"/start {workspace.owner_payload}")
    await owner.expect("Welcome to")
    await owner.send("/quiet")
    await owner.expect("Quiet hours: 21:00–09:00")
    await owner.send("/quiet 9-5")
    await owner.expect("time like 09:30")
    await owner.send("/quiet 22:00-08:30")
    await owner.expect("Quiet hours: 22:00–08:30", "wait until 08:30")
    await owner.send("/cap 0 7")
    await owner.expect("Please give 1 to 50 messages in 1 to 60 days")
    await owner.send("/cap 3 7")
    await owner.expect("at most 3 campaign messages in 7 days")
    await owner.send("/quiet off")
    await owner.expect("Quiet hours are off")
    await owner.send("/campaign new")
    await owner.expect("What kind")
    await owner.press("Welcome on opt-in")
    await owner.expect("Which message template")
    # A restart in the middle of the dialog loses nothing.
    await bot.stop()
    await start_bot(options)
    await owner.press("Welcome message")
    await owner.expect("Who gets it")
    await owner.press("Done")
    await owner.expect("a name for this campaign")
    await owner.press("Welcome on opt-in")
    await owner.expect("Please check", "when a customer opts in", "It reaches 0 customers")
    await owner.press("Create")
    await owner.expect("Campaign Welcome on opt-in created")

    newcomer, shy = person(3001, "Alice"), person(3002, "Bob")
    await join(newcomer, workspace.slug, accept=True)
    await join(shy, workspace.slug, accept=False)
    await newcomer.expect("Hi Alice, welcome to Wang's Tea House!")
    assert await shy.quiet(1.0) == []
