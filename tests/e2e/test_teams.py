"""Teams end to end: teams limit an admin, sharing, and reassigning a rep's customers."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.harness import BotOptions, Person, Workspace, query
from tests.e2e.test_pipeline import CHEN, LI, member_id, open_shop, seed_customer
from tests.e2e.test_transfer import download


@pytest.mark.timeout(240)
@pytest.mark.parametrize("framework", ["aiogram"])  # a chat flow: one framework
async def test_teams_share_and_reassign(
    options: BotOptions,
    workspace: Workspace,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
) -> None:
    crew = await open_shop(options, workspace, start_bot, person, admin=True)
    assert crew.zhou is not None
    db = options.db_path
    zhao = seed_customer(db, "Zhao", LI)
    sun = seed_customer(db, "Sun", LI)
    qian = seed_customer(db, "Qian", CHEN)
    owner, li, chen, zhou = crew.owner, crew.li, crew.chen, crew.zhou
    li_id, chen_id = member_id(db, LI), member_id(db, CHEN)

    await li.send("/team")
    await li.expect("Sorry, /team isn't available to you.")
    await owner.send("/team")
    await owner.expect("Team (id · name · role · team)", f"{li_id} · Li · staff · —")
    await owner.send("/team new North")
    await owner.expect("Team North created.")
    await owner.send("/team new north")
    await owner.expect("There's already a team called north.")
    await owner.send("/team add South Li")
    await owner.expect("I can't find the team “South”. Teams: North.")
    await owner.send("/team add North Li")
    await owner.expect("Li is now in team North.")
    await owner.send("/team add North Zhou")
    await owner.expect("Zhou is now in team North.")
    await owner.send("/team move")
    await owner.expect("Send /team, /team new North or /team add North Li.")

    # Zhou, an admin limited to North, sees Li's customers but not Chen's.
    await zhou.send(f"/stage {zhao}")
    await zhou.expect(f"Zhao (#{zhao}) is at stage New")
    await zhou.send(f"/stage {qian}")
    await zhou.expect(f"I can't find customer #{qian} among yours.")
    await zhou.send(f"/share {zhao} Chen")
    await zhou.expect("Chen isn't on your team.")

    # Sharing lets Chen see one of Li's customers.
    await chen.send(f"/stage {zhao}")
    await chen.expect(f"I can't find customer #{zhao} among yours.")
    await li.send(f"/share {zhao} Chen")
    await li.expect("Sorry, /share isn't available to you.")
    await owner.send(f"/share {zhao} Chen")
    await owner.expect(f"Chen can now see Zhao (#{zhao}).")
    await owner.send(f"/share {zhao} Chen")
    await owner.expect(f"Chen can already see customer #{zhao}.")
    await chen.send(f"/stage {zhao}")
    await chen.expect(f"Zhao (#{zhao}) is at stage New")

    # Reassigning all of Li's customers asks first, with the count.
    await owner.send("/reassign Li")
    await owner.expect("Send /reassign 12 Chen for one customer")
    await owner.send("/reassign Nobody Chen")
    await owner.expect("I can't find a colleague called “Nobody”")
    await owner.send("/reassign Li Li")
    await owner.expect("Please pick two different colleagues.")
    await owner.send("/reassign Li Chen")
    await owner.expect("Move all 2 customers of Li to Chen?")
    await owner.press("Cancel")
    await owner.expect("OK, nothing was moved.")
    assert query(db, "SELECT count(*) FROM customer WHERE owner_member_id = ?", li_id) == [(2,)]
    await owner.send("/reassign Li Chen")
    await owner.expect("Move all 2 customers of Li to Chen?")
    await owner.press("Move 2")
    await owner.expect("Moved 2 customers from Li to Chen.")
    await chen.expect("Wang moved 2 customers of Li to you.")
    assert query(db, "SELECT owner_member_id FROM customer ORDER BY id") == [
        (chen_id,),
        (chen_id,),
        (chen_id,),
    ]
    assert query(db, "SELECT entity_id FROM audit_log WHERE action = 'customer.reassign_all'") == [
        (li_id,)
    ]
    await owner.send("/reassign Li Chen")
    await owner.expect("Li has no customers to move to someone else.")

    # One customer back to Li.
    await owner.send(f"/reassign {sun} Li")
    await owner.expect(f"Sun (#{sun}) now belongs to Li.")
    await li.expect(f"Wang gave you Sun (#{sun}).")
    await li.send(f"/buy {sun} 10")
    await li.expect(f"recorded for Sun (#{sun})")


@pytest.mark.timeout(240)
@pytest.mark.parametrize("framework", ["ptb"])  # a chat flow: one framework
async def test_team_limited_admin_cannot_widen_scope_or_remove_outsiders(
    options: BotOptions,
    workspace: Workspace,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
) -> None:
    crew = await open_shop(options, workspace, start_bot, person, admin=True)
    assert crew.zhou is not None
    owner, li, zhou = crew.owner, crew.li, crew.zhou
    db = options.db_path
    zhao = seed_customer(db, "Zhao", LI)
    qian = seed_customer(db, "Qian", CHEN)
    await owner.send("/team new North")
    await owner.expect("Team North created.")
    await owner.send("/team add North Li")
    await owner.expect("Li is now in team North.")
    await owner.send("/team add North Zhou")
    await owner.expect("Zhou is now in team North.")

    # The reported bug: Zhou took Chen into North and then saw Chen's customers.
    await zhou.send("/team add North Chen")
    await zhou.expect("Chen isn't on your team, and only the owner")
    assert query(db, "SELECT team_id FROM member WHERE tg_user_id = ?", CHEN) == [(None,)]
    await zhou.send(f"/card {qian}")
    await zhou.expect(f"I can't find customer #{qian} among yours.")
    await zhou.send("/find Qian")
    await zhou.expect("Nothing found for “Qian”")
    await zhou.send("/export csv")
    sent = await zhou.expect("Customers exported: 1")
    rows = list(csv.DictReader(io.StringIO((await download(sent)).decode("utf-8-sig"))))
    assert [r["Name"] for r in rows] == ["Zhao"]
    await zhou.send("/team")
    listed = await zhou.expect("Team (id · name · role · team)")
    assert "Chen" not in listed["text"] and "Wang" not in listed["text"]

    # Nor may Zhou remove someone outside North; inside it, Li's customers go to the pool.
    await zhou.send("/remove Chen")
    await zhou.expect("Chen isn't on your team.")
    await zhou.send("/remove Li to Chen")
    await zhou.expect("Chen isn't on your team.")
    await zhou.send("/remove Li")
    await zhou.expect("Remove Li from the shop? They have 1 customer.")
    await zhou.press("Customers to the pool")
    await zhou.expect("Li is no longer a member of the shop.")
    await owner.expect("Zhou removed Li from the shop.", "Their 1 customer is in the pool")
    assert query(db, "SELECT owner_member_id FROM customer WHERE id = ?", zhao) == [(None,)]
    await li.send(f"/card {zhao}")
    await li.expect("You're no longer a member of Wang's Tea House")
    await zhou.send("/team")
    await zhou.expect("No longer members", "· Li ·")
