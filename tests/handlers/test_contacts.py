"""Customer records in chat: /add, duplicates, /find and /card in scope, /start c_ links."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.crm.models import WorkspaceKind
from tests.e2e.harness import Workspace, execute, query
from tests.handlers.chat import ChatBot, Person

OWNER, LI, CHEN = 1001, 1002, 1003
ZHAO_TG, QIAN_TG, SUN_TG = 2001, 2002, 2003


@pytest.fixture
async def workspace(chat: ChatBot) -> Workspace:
    """Create a trade business: /add asks its company, classification and route."""
    return await chat.create_workspace(kind=WorkspaceKind.TRADE)


async def join(owner: Person, who: Person) -> None:
    """Invite ``who`` as staff with the owner's /invite and have them join."""
    await owner.send("/invite staff")
    invite = await owner.expect("Invite for a new", "staff")
    payload = invite["text"].split("?start=")[1].split()[0]
    await who.send(f"/start {payload}")
    await who.expect("Welcome to", "You joined as staff")


async def open_shop(
    workspace: Workspace, person: Callable[..., Person]
) -> tuple[Person, Person, Person]:
    """The owner joins and invites the reps Li and Chen."""
    owner, li, chen = person(OWNER, "Wang"), person(LI, "Li"), person(CHEN, "Chen")
    await owner.send(f"/start {workspace.owner_payload}")
    await owner.expect("Welcome to")
    await join(owner, li)
    await join(owner, chen)
    return owner, li, chen


async def add(rep: Person, line: str) -> int:
    """Add a contact with the one-line /add and return its id."""
    await rep.send(f"/add {line}")
    saved = await rep.expect("Saved", "as #")
    return int(saved["text"].split("as #")[1].rstrip("."))


def customer_row(db: Path, customer_id: int, columns: str) -> tuple[Any, ...]:
    """Return some columns of one customer."""
    return query(db, f"SELECT {columns} FROM customer WHERE id = ?", customer_id)[0]  # noqa: S608


def seed_history(db: Path, customer_id: int) -> None:
    """Give a customer a company, a tag, two purchases, a follow-up and a reminder."""
    stamp = "2026-11-01 00:00:00.000000"
    execute(
        db,
        "INSERT INTO company (workspace_id, name, level, created_at) VALUES (1, 'Tea Co', 1, ?)",
        stamp,
    )
    execute(db, "UPDATE customer SET company_id = 1 WHERE id = ?", customer_id)
    execute(
        db,
        "INSERT INTO tag (workspace_id, name, dimension, weight, created_at)"
        " VALUES (1, 'oolong', 'interest', 10, ?)",
        stamp,
    )
    execute(
        db,
        "INSERT INTO customer_tag (workspace_id, customer_id, tag_id, created_at)"
        " VALUES (1, ?, 1, ?)",
        customer_id,
        stamp,
    )
    for amount, day in ((12800, "2026-11-02"), (5050, "2026-11-10")):
        execute(
            db,
            "INSERT INTO purchase (workspace_id, customer_id, amount_minor, currency, at)"
            " VALUES (1, ?, ?, 'CNY', ?)",
            customer_id,
            amount,
            f"{day} 04:00:00.000000",
        )
    execute(
        db,
        "INSERT INTO follow_up (workspace_id, customer_id, channel, summary, at)"
        " VALUES (1, ?, 'visit', 'tasted the new oolong', '2026-11-12 02:00:00.000000')",
        customer_id,
    )
    execute(
        db,
        "INSERT INTO reminder (workspace_id, member_id, customer_id, text, due_at, created_at)"
        " VALUES (1, 2, ?, 'bring samples', '2030-01-05 02:00:00.000000', ?)",
        customer_id,
        stamp,
    )


async def test_add_dialog_reasks_at_every_step_and_saves(
    chat: ChatBot,
    workspace: Workspace,
    person: Callable[..., Person],
) -> None:
    _, li, _ = await open_shop(workspace, person)
    db = chat.db_path

    await li.send("/add")
    await li.expect("New contact", "name")
    await li.send("x" * 300)
    await li.expect("300 characters long")
    await li.expect("What's their name?")
    await li.send("Wang Li")
    await li.expect("Wang Li's phone number?")
    await li.send("12345")
    await li.expect("doesn't look like a phone number")
    await li.expect("Wang Li's phone number?")
    await li.send("138 0013 8000")
    await li.expect("Company?")
    await li.send("Wang Tea / Shanghai / Pudong / Block 4")
    await li.expect("at most 3 levels deep")
    await li.expect("Company?")
    await li.send("Wang Tea / Shanghai")
    await li.expect("Classify Wang Li?", "Ownership")
    await li.send("banana")
    await li.expect("Please tap one of the buttons", "Private")
    await li.expect("Ownership")
    await li.press("Private")
    await li.expect("Type of business?")
    await li.press("Retailer")
    await li.expect("Where are they located?")
    await li.press("Skip")
    await li.expect("Sales region")
    await li.send("north 0")
    await li.expect("visiting order must be a number from 1")
    await li.expect("Sales region")
    await li.send("north 2")
    await li.expect("Please check", "Wang Li", "+8613800138000", "Wang Tea / Shanghai", "north #2")
    await li.send("maybe")
    await li.expect("Please tap Save")
    await li.expect("Please check")
    await li.press("Save")
    saved = await li.expect("Saved Wang Li as #")
    customer_id = int(saved["text"].split("#")[1].rstrip("."))

    row = customer_row(
        db,
        customer_id,
        "name, phone, ownership, business_type, location_type, region, route_order, kind,"
        " stage, source, length(join_token) BETWEEN 8 AND 24, owner_assigned_at IS NOT NULL",
    )
    assert row == (
        "Wang Li", "+8613800138000", "private", "retailer", None, "north", 2, "lead", "new",
        "staff", 1, 1,
    )  # fmt: skip
    li_member = query(db, "SELECT id FROM member WHERE tg_user_id = ?", LI)[0][0]
    assert customer_row(db, customer_id, "owner_member_id") == (li_member,)
    assert query(
        db,
        "SELECT c.name, c.level, p.name FROM customer JOIN company c ON c.id = company_id"
        " LEFT JOIN company p ON p.id = c.parent_id",
    ) == [("Shanghai", 2, "Wang Tea")]
    assert query(db, "SELECT details FROM audit_log WHERE action = 'customer.create'") == [
        (
            '{"fields": ["business_type", "company_id", "name", "ownership", "phone",'
            ' "region", "route_order"]}',
        )
    ]
    assert query(db, "SELECT count(*) FROM conversation_state") == [(0,)]

    # Cancel from the summary keeps nothing.
    await li.send("/add")
    await li.expect("What's their name?")
    await li.send("Sun Yu")
    await li.expect("phone number?")
    await li.send("/skip")
    await li.expect("Company?")
    await li.send("/skip")
    await li.expect("Ownership")
    await li.press("Skip classification")
    await li.expect("Please check", "Sun Yu", "no phone")
    await li.press("Cancel")
    await li.expect("cancelled")
    assert query(db, "SELECT count(*) FROM customer") == [(1,)]


async def test_one_liner_and_duplicates_offer_the_existing_card(
    chat: ChatBot,
    workspace: Workspace,
    person: Callable[..., Person],
) -> None:
    _, li, chen = await open_shop(workspace, person)
    db = chat.db_path

    wang = await add(li, "Wang Li +8613800138000")
    zhao = await add(li, "Zhao Min")
    assert customer_row(db, zhao, "name, phone") == ("Zhao Min", None)
    await li.send("/add Qian 12345")
    await li.expect("doesn't look like a phone number")

    await li.send("/add Wang Two 138 0013 8000")
    await li.expect("already on file", "Wang Li", f"#{wang}")
    await li.press("Open card")
    await li.expect(f"Wang Li (#{wang})", "+8613800138000")

    # Another rep learns only that the number is taken.
    await chen.send("/add Somebody 13800138000")
    taken = await chen.expect("already exists and belongs to another rep")
    assert "Wang" not in taken["text"]
    assert not (taken.get("reply_markup") or {}).get("inline_keyboard")
    await chen.send("/add")
    await chen.expect("What's their name?")
    await chen.send("Somebody")
    await chen.expect("phone number?")
    await chen.send("+86 138 0013 8000")
    await chen.expect("belongs to another rep")
    await chen.expect("Somebody's phone number?")
    await chen.send("139 0013 9000")
    await chen.expect("Company?")
    assert query(db, "SELECT count(*) FROM customer") == [(2,)]


async def test_find_and_card_stay_within_scope(
    chat: ChatBot,
    workspace: Workspace,
    person: Callable[..., Person],
) -> None:
    owner, li, chen = await open_shop(workspace, person)
    db = chat.db_path
    wang = await add(li, "Wang Li +8613800138000")
    zhao = await add(chen, "Zhao Min +8613900139000")
    seed_history(db, wang)

    for text in ("Wang", "wang li", "8000", "138 0013 8000", "Tea Co", "oolong"):
        await li.send(f"/find {text}")
        found = await li.expect("Found 1", "Tap one")
        assert found["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == f"ct:{wang}"
    await li.send("/find Zhao")
    await li.expect("Nothing found for “Zhao”", "/add")
    await li.send("/find 139 0013 9000")
    await li.expect("Nothing found")
    await li.send("/find")
    await li.expect("Send it like this: /find Wang")

    await li.send("/find Wang")
    await li.expect("Found 1")
    await li.press("Wang Li")
    card = await li.expect(f"Wang Li (#{wang})")
    for fragment in (
        "+8613800138000", "Tea Co", "Lead · stage New", "Owner: Li", "not asked yet",
        "Tags: oolong", "🚶 Visit — tasted the new oolong", "2030-01-05 10:00 — bring samples",
        "2 purchases, ¥178.50 in all, last on 2026-11-10; repurchases: 1",
        "https://t.me/ScrmSandboxBot?start=c_",
    ):  # fmt: skip
        assert fragment in card["text"], fragment

    await li.send(f"/card {zhao}")
    await li.expect(f"I can't find customer #{zhao} among yours.")
    await li.send("/card twelve")
    await li.expect("Send it like this: /card 12")
    await owner.send(f"/card {zhao}")
    await owner.expect(f"Zhao Min (#{zhao})", "Owner: Chen")
    await owner.send("/find Zhao")
    await owner.expect("Found 1")


async def test_card_edits_reask_and_are_audited(
    chat: ChatBot,
    workspace: Workspace,
    person: Callable[..., Person],
) -> None:
    _, li, _ = await open_shop(workspace, person)
    db = chat.db_path
    wang = await add(li, "Wang Li +8613800138000")
    await add(li, "Zhao Min +8613900139000")

    await li.send(f"/card {wang}")
    await li.expect(f"Wang Li (#{wang})")
    await li.press("Name")
    await li.expect("New name for Wang Li?")
    await li.send(f"/card {wang}")  # a command in the middle leaves the edit open
    await li.expect(f"Wang Li (#{wang})")
    await li.send("Wang Lili")
    await li.expect("Saved.")
    await li.expect(f"Wang Lili (#{wang})")

    await li.press("Phone")
    await li.expect("New phone number for Wang Lili?")
    await li.send("12")
    await li.expect("doesn't look like a phone number")
    await li.send("139 0013 9000")
    await li.expect("Another customer already has this phone number")
    await li.expect("New phone number")
    await li.send("137 0013 7000")
    await li.expect("+8613700137000")

    await li.press("Company")
    await li.expect("Company of Wang Lili?")
    await li.send("A / B / C / D")
    await li.expect("at most 3 levels deep")
    await li.send("Wang Tea / Shanghai / Pudong")
    await li.expect("Wang Tea / Shanghai / Pudong")

    await li.press("Ownership")
    await li.expect("Ownership of Wang Lili?")
    await li.send("feudal")
    await li.expect("Please tap one of the buttons")
    await li.expect("Ownership of Wang Lili?")
    await li.press("Joint-stock")
    await li.expect("Joint-stock")

    await li.press("Region / route")
    await li.expect("Region and visiting order")
    await li.send("south 99999")
    await li.expect("visiting order must be a number")
    await li.send("south 1")
    await li.expect("south, stop 1")

    await li.press("Notes")
    await li.expect("Notes on Wang Lili?")
    await li.send("likes <b>oolong</b>")
    await li.expect("Notes: likes <b>oolong</b>")

    assert customer_row(db, wang, "name, phone, ownership, region, route_order, notes") == (
        "Wang Lili", "+8613700137000", "joint_stock", "south", 1, "likes <b>oolong</b>",
    )  # fmt: skip
    assert query(db, "SELECT max(level) FROM company") == [(3,)]
    details = [
        row[0]
        for row in query(db, "SELECT details FROM audit_log WHERE action = 'customer.update'")
    ]
    assert details == [
        '{"fields": ["name"]}',
        '{"fields": ["phone"]}',
        '{"fields": ["company_id"]}',
        '{"fields": ["ownership"]}',
        '{"fields": ["region", "route_order"]}',
        '{"fields": ["notes"]}',
    ]


async def test_route_lists_in_visiting_order_and_moves(
    chat: ChatBot,
    workspace: Workspace,
    person: Callable[..., Person],
) -> None:
    owner, li, chen = await open_shop(workspace, person)
    db = chat.db_path
    a = await add(li, "Ai")
    b = await add(li, "Bo")
    c = await add(li, "Cai")
    other = await add(chen, "Du")
    for customer_id, order in ((a, 2), (b, None), (c, 1), (other, 3)):
        execute(
            db, "UPDATE customer SET region = 'north', route_order = ? WHERE id = ?", order,
            customer_id,
        )  # fmt: skip

    await li.send("/route")
    await li.expect("Your regions", "north (3)")
    await li.press("north")
    await li.expect("Route north: 3 stops", f"1. Cai (#{c})\n2. Ai (#{a})\n3. Bo (#{b})")
    await li.press("⬇")  # on the first row: Cai moves down
    await li.expect(f"1. Ai (#{a})\n2. Cai (#{c})\n3. Bo (#{b})")
    await li.send(f"/route north move {b} 1")
    await li.expect(f"1. Bo (#{b})\n2. Ai (#{a})\n3. Cai (#{c})")
    assert query(
        db, "SELECT id, route_order FROM customer WHERE owner_member_id = 2 ORDER BY id"
    ) == [(a, 2), (b, 1), (c, 3)]
    await li.send(f"/route north move {other} 1")
    await li.expect(f"I can't find customer #{other} among yours.")
    await li.send("/route north move x 1")
    await li.expect("Send it like this: /route north move 12 1")
    await li.send("/route nowhere")
    await li.expect("No customers of yours in “nowhere”")

    await owner.send("/route North")
    await owner.expect("4 stops", f"(#{other})")


async def test_start_with_own_link_links_account_and_asks_consent(
    chat: ChatBot,
    workspace: Workspace,
    person: Callable[..., Person],
) -> None:
    _, li, _ = await open_shop(workspace, person)
    db = chat.db_path
    wang = await add(li, "Wang Li +8613800138000")
    zhou = await add(li, "Zhou")
    token = customer_row(db, wang, "join_token")[0]

    zhao = person(ZHAO_TG, "Zhao")
    await zhao.send(f"/start c_{token}")
    await zhao.expect("Welcome to Wang's Tea House", "May we send you messages")
    await zhao.press("Yes")
    await zhao.expect("You're subscribed")
    assert customer_row(db, wang, "tg_user_id, chat_id, consent") == (
        ZHAO_TG, ZHAO_TG, "opted_in"
    )  # fmt: skip
    await zhao.send(f"/start c_{token}")
    await zhao.expect("already subscribed")

    qian = person(QIAN_TG, "Qian")
    await qian.send(f"/start c_{token}")
    await qian.expect("already used by another Telegram account")
    await qian.send("/start c_nonsense")
    await qian.expect("This link isn't valid")

    # An account already on file at the shop is not linked to a second record.
    sun = person(SUN_TG, "Sun")
    await sun.send(f"/start w_{workspace.slug}")
    await sun.expect("May we send you messages")
    other = customer_row(db, zhou, "join_token")[0]
    await sun.send(f"/start c_{other}")
    await sun.expect("already linked to another record")
    assert customer_row(db, zhou, "tg_user_id") == (None,)

    await li.send(f"/card {wang}")
    await li.expect("subscribed · Telegram linked")
