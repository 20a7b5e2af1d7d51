"""A team-limited admin end to end: complaints and campaigns stop at their team's customers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import BotOptions, Emulator, Person, Workspace, execute, query
from tests.e2e.test_pipeline import CHEN, LI, NOW_SQL, OWNER, Crew, member_id, open_shop
from tests.e2e.test_transfer import answer_of

# A chat flow, not the adapters: one framework (see tests/e2e/conftest.py).
pytestmark = [pytest.mark.timeout(240), pytest.mark.parametrize("framework", ["aiogram"])]
ZHAO, QIAN = 3001, 3002


async def customer_of(rep: Person, who: Person) -> int:
    """Have ``who`` join through the rep's personal link, say yes to messages; return their id."""
    await rep.send("/mylink")
    link = await rep.expect("Your personal link")
    await who.send(f"/start {link['text'].split('?start=')[1].split()[0]}")
    await who.expect("May we send you messages")
    await who.press("Yes")
    await who.expect("You're subscribed to")
    return who.id


def open_complaint(db: Path, tg_user_id: int, rep_tg: int) -> int:
    """Insert an open complaint of the customer, assigned to their rep; return its id."""
    execute(
        db,
        "INSERT INTO complaint (workspace_id, customer_id, assigned_member_id, status, source,"
        " text, due_at, created_at) VALUES (1, (SELECT id FROM customer WHERE tg_user_id = ?),"
        " ?, 'open', 'customer', 'The tea was stale', ?, ?)",
        tg_user_id,
        member_id(db, rep_tg),
        NOW_SQL,
        NOW_SQL,
    )
    return int(query(db, "SELECT max(id) FROM complaint")[0][0])


async def north(crew: Crew) -> None:
    """Make team North of Li and the admin Zhou; Chen stays outside."""
    owner = crew.owner
    await owner.send("/team new North")
    await owner.expect("Team North created.")
    await owner.send("/team add North Li")
    await owner.expect("Li is now in team North.")
    await owner.send("/team add North Zhou")
    await owner.expect("Zhou is now in team North.")


async def test_team_limited_admin_sees_and_handles_only_their_teams_complaints(
    options: BotOptions,
    workspace: Workspace,
    emu: Emulator,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
) -> None:
    crew = await open_shop(options, workspace, start_bot, person, admin=True)
    assert crew.zhou is not None
    owner, zhou, db = crew.owner, crew.zhou, options.db_path
    await north(crew)
    await customer_of(crew.li, person(ZHAO, "Zhao"))
    await customer_of(crew.chen, person(QIAN, "Qian"))
    mine = open_complaint(db, ZHAO, LI)
    outside = open_complaint(db, QIAN, CHEN)

    await zhou.send("/complaints")
    listed = await zhou.expect("Open complaints: 1", f"#{mine} · Zhao")
    assert "Qian" not in listed["text"] and f"#{outside}" not in listed["text"]
    await owner.send("/complaints")
    await owner.expect("Open complaints: 2", "Zhao", "Qian")

    await zhou.send(f"/complaint {outside}")
    await zhou.expect(f"There's no complaint #{outside} for you.")
    # Forged or old buttons on the outside complaint: open, take, resolve, photo. Each
    # is answered as expired, and nothing is said about it.
    for action in ("o", "t", "r", "p"):
        pressed = await emu.post(
            "callback", user_id=zhou.id, message_id=1, data=f"cm:{action}:{outside}", force=True
        )
        assert await answer_of(emu, pressed["callback_query_id"]) == "This button has expired."
    assert await zhou.quiet() == []
    assert query(db, "SELECT status, assigned_member_id FROM complaint WHERE id = ?", outside) == [
        ("open", member_id(db, CHEN))
    ]

    # Inside the team everything still works.
    await zhou.send(f"/complaint {mine}")
    await zhou.expect(f"Complaint #{mine}", "Zhao", "Handled by Li")
    await zhou.press("Take")
    await zhou.expect(f"Complaint #{mine}", "in progress", "Handled by Zhou")


async def test_team_limited_admins_campaign_reaches_counts_and_lists_only_their_team(
    options: BotOptions,
    workspace: Workspace,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
) -> None:
    crew = await open_shop(options, workspace, start_bot, person, admin=True)
    assert crew.zhou is not None
    owner, zhou, db = crew.owner, crew.zhou, options.db_path
    await owner.send("/quiet off")
    await owner.expect("Quiet hours are off")
    await north(crew)
    zhao, qian = person(ZHAO, "Zhao"), person(QIAN, "Qian")
    await customer_of(crew.li, zhao)
    await customer_of(crew.chen, qian)
    execute(db, "UPDATE customer SET region = 'West' WHERE tg_user_id = ?", ZHAO)
    execute(db, "UPDATE customer SET region = 'East' WHERE tg_user_id = ?", QIAN)
    execute(
        db,
        "INSERT INTO campaign (workspace_id, name, kind, template_key, audience, weekday,"
        " send_time, status, created_by_member_id, created_at) VALUES (1, 'Whole shop',"
        " 'weekly', 'weekly_touchpoint', '{}', 0, '10:00', 'active', ?, ?)",
        member_id(db, OWNER),
        NOW_SQL,
    )
    shop_wide = int(query(db, "SELECT max(id) FROM campaign")[0][0])

    await zhou.send("/campaign new")
    await zhou.expect("What kind")
    await zhou.press("One-off broadcast")
    await zhou.expect("Which message template")
    await zhou.press("Holiday greeting")
    await zhou.expect("Who gets it", "team #", "(1 customer)")
    # The region choices come from North's customers only.
    await zhou.press("By region")
    asked = await zhou.expect("Which region?")
    labels = [b["text"] for row in asked["reply_markup"]["inline_keyboard"] for b in row]
    assert labels == ["West"]
    await zhou.press("West")
    await zhou.expect("Who gets it", "region West", "(1 customer)")
    await zhou.press("Everyone opted in")
    await zhou.expect("When? Tap Now")
    await zhou.press("Now")
    await zhou.expect("a name for this campaign")
    await zhou.send("North news")
    await zhou.expect("Please check", "team #", "It reaches 1 customer")
    await zhou.press("Create")
    await zhao.expect("Season's greetings, Zhao!")
    await zhou.expect("North news", "done", timeout=30)
    assert await qian.quiet(0.5) == []
    recipients = query(
        db,
        "SELECT c.name FROM outbox_message o JOIN customer c ON c.id = o.customer_id"
        " JOIN campaign_run r ON r.id = o.run_id JOIN campaign k ON k.id = r.campaign_id"
        " WHERE k.name = 'North news'",
    )
    assert recipients == [("Zhao",)]

    await zhou.send("/campaigns")
    listed = await zhou.expect("Campaigns", "North news")
    assert "Whole shop" not in listed["text"]
    await zhou.send(f"/campaign {shop_wide}")
    await zhou.expect(f"I can't find campaign #{shop_wide}. See /campaigns.")
    await owner.send("/campaigns")
    await owner.expect("Campaigns", "North news", "Whole shop")
    await owner.send(f"/campaign {shop_wide}")
    await owner.expect("Whole shop", "(2 customers now)")
