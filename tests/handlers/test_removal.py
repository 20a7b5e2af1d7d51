"""Removing people in chat: /remove with the customers' destination, /leave, joining again."""

from __future__ import annotations

from collections.abc import Callable

from tests.e2e.harness import Workspace, execute, query
from tests.e2e.test_pipeline import CHEN, LI, ZHOU, join, member_id, seed_customer
from tests.handlers.chat import ChatBot, Person, open_shop

SUN, NEWCOMER, OTHER_OWNER = 1005, 1006, 1101
GONE = "You're no longer a member of Wang's Tea House"


async def test_owner_removes_reps_and_an_admin(
    chat: ChatBot,
    workspace: Workspace,
    person: Callable[..., Person],
) -> None:
    crew = await open_shop(chat, workspace, admin=True)
    assert crew.zhou is not None
    owner, li, chen, zhou = crew.owner, crew.li, crew.chen, crew.zhou
    sun = person(SUN, "Sun")
    await join(owner, sun, "admin")
    db = chat.db_path
    zhao = seed_customer(db, "Zhao", LI)
    seed_customer(db, "Qian Li", LI)
    qian = seed_customer(db, "Qian", CHEN)
    li_id, chen_id, zhou_id = member_id(db, LI), member_id(db, CHEN), member_id(db, ZHOU)
    execute(
        db,
        "INSERT INTO reminder (workspace_id, member_id, customer_id, text, due_at, created_at)"
        " VALUES (1, ?, ?, 'call back', '2099-01-01 08:00:00.000000', '2026-11-20 08:00:00')",
        li_id,
        zhao,
    )
    execute(
        db,
        "INSERT INTO reminder (workspace_id, member_id, customer_id, text, due_at, created_at)"
        " VALUES (1, ?, ?, 'samples', '2099-01-01 08:00:00.000000', '2026-11-20 08:00:00')",
        chen_id,
        qian,
    )
    await li.send(f"/stage {zhao}")
    stage_card = await li.expect("Zhao (#", "Move to")

    # An admin may remove staff only, never the owner, another admin or themselves.
    await zhou.send("/remove Wang")
    await zhou.expect("The shop's owner can't be removed.")
    await zhou.send("/remove Sun")
    await zhou.expect("Only the owner can remove an admin.")
    await zhou.send("/remove Zhou")
    await zhou.expect("To leave the shop yourself, send /leave.")
    await li.send("/remove Chen")
    await li.expect("Sorry, /remove isn't available to you.")
    await zhou.send("/invite staff")
    zhou_invite = await zhou.expect("Invite for a new")
    zhou_payload = zhou_invite["text"].split("?start=")[1].split()[0]

    # Li's customers go to the pool, and her reminder is cancelled with them.
    await owner.send("/remove")
    await owner.expect("Whom do you want to remove from the shop?")
    await owner.press("Li")
    await owner.expect("Remove Li from the shop? They have 2 customers.")
    await owner.press("Customers to the pool")
    await owner.expect(
        "Li is no longer a member of the shop.",
        "2 customers are now in the shop's pool.",
        "1 pending reminders were cancelled.",
    )
    await li.expect("Wang removed you from Wang's Tea House")
    assert query(db, "SELECT count(*) FROM customer WHERE owner_member_id IS NULL") == [(2,)]
    assert query(db, "SELECT count(*) FROM reminder WHERE done_at IS NULL") == [(1,)]

    # From now on Li's commands and old buttons are refused, kindly.
    await li.send("/today")
    await li.expect(GONE)
    await li.press("Contacted", stage_card)
    await li.expect(GONE)
    assert query(db, "SELECT stage FROM customer WHERE id = ?", zhao) == [("new",)]
    await owner.send("/remove Li")
    await owner.expect("Li is no longer a member of the shop.")

    # Chen's customer and reminder go to Zhou, named in the command.
    await owner.send("/remove Chen to Zhou")
    await owner.expect("Remove Chen from the shop? Their 1 customer and pending reminders go to")
    await owner.press("Remove")
    await owner.expect("1 customer went to Zhou, with pending reminders: 1.")
    await zhou.expect("Wang moved 1 customer of Chen to you.")
    await chen.expect("Wang removed you from Wang's Tea House")
    assert query(db, "SELECT owner_member_id FROM customer WHERE id = ?", qian) == [(zhou_id,)]
    assert query(db, "SELECT member_id FROM reminder WHERE done_at IS NULL") == [(zhou_id,)]

    # Removing the admin Zhou withdraws the invite Zhou sent; the link stops working.
    await owner.send("/remove Zhou")
    await owner.expect("Remove Zhou from the shop? They have 1 customer.")
    await owner.press("Sun")
    await owner.expect("Zhou is no longer a member", "1 open invites were withdrawn.")
    newcomer = person(NEWCOMER, "Ma")
    await newcomer.send(f"/start {zhou_payload}")
    await newcomer.expect("This invite was withdrawn.")

    await owner.send("/team")
    team = await owner.expect("No longer members")
    gone = team["text"].split("No longer members")[1]
    assert f"{li_id} · Li" in gone and f"{chen_id} · Chen" in gone and f"{zhou_id} · Zhou" in gone
    assert query(db, "SELECT count(*) FROM audit_log WHERE action = 'member.remove'") == [(3,)]


async def test_leave_then_join_another_shop_and_come_back(
    chat: ChatBot,
    workspace: Workspace,
    person: Callable[..., Person],
) -> None:
    other = await chat.create_workspace("Li's Porcelain")
    crew = await open_shop(chat, workspace)
    owner, li = crew.owner, crew.li
    other_owner = person(OTHER_OWNER, "Ma")
    await other_owner.send(f"/start {other.owner_payload}")
    await other_owner.expect("Welcome to", "Li's Porcelain")
    db = chat.db_path
    seed_customer(db, "Zhao", LI)

    await owner.send("/leave")
    await owner.expect("You own this shop, so you can't leave it.")
    await li.send("/leave")
    await li.expect("Leave Wang's Tea House? Your 1 customer goes to the shop's pool")
    await li.press("Cancel")
    await li.expect("Good, you're staying.")
    await li.send("/leave")
    await li.expect("Leave Wang's Tea House?")
    await li.press("Leave the shop")
    await li.expect("You've left the shop.")
    await owner.expect("Li left the shop.", "Their 1 customer is in the pool")
    await li.send("/today")
    await li.expect(GONE)

    # The old membership blocks nothing: Li joins another shop, then comes back.
    await join(other_owner, li)
    await li.send("/today")
    await li.expect("Today")
    await li.send("/leave")
    await li.expect("Leave Li's Porcelain?")
    await li.press("Leave the shop")
    await other_owner.expect("Li left the shop.")
    await join(owner, li)
    await li.send("/mylink")
    await li.expect("Your personal link")
    assert query(
        db,
        "SELECT w.name, m.active FROM member m JOIN workspace w"
        " ON w.id = m.workspace_id WHERE m.tg_user_id = ? ORDER BY m.id",
        LI,
    ) == [
        ("Wang's Tea House", 1),
        ("Li's Porcelain", 0),
    ]
    assert query(db, "SELECT count(*) FROM audit_log WHERE action = 'member.leave'") == [(2,)]
