"""Stages and the lead pool end to end: moving, converting, claiming and assigning leads."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import BotOptions, Emulator, Person, Workspace, execute, query

# A chat flow, not the adapters: one framework (see tests/e2e/conftest.py).
pytestmark = pytest.mark.parametrize("framework", ["ptb"])

OWNER, LI, CHEN, ZHOU = 1001, 1002, 1003, 1004
SUN, QIAN_TG = 2001, 2002
NOW_SQL = "2026-11-20 08:00:00.000000"


@dataclass
class Crew:
    """The people of a test shop: the owner and two reps (and an admin when asked)."""

    owner: Person
    li: Person
    chen: Person
    zhou: Person | None


async def join(owner: Person, who: Person, role: str = "staff") -> None:
    """Invite ``who`` with the owner's /invite and have them join."""
    await owner.send(f"/invite {role}")
    invite = await owner.expect("Invite for a new", role)
    payload = invite["text"].split("?start=")[1].split()[0]
    await who.send(f"/start {payload}")
    await who.expect("Welcome to", f"You joined as {role}")


async def open_shop(
    options: BotOptions,
    workspace: Workspace,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
    *,
    admin: bool = False,
) -> Crew:
    """Start the bot; the owner joins and invites Li and Chen (and the admin Zhou)."""
    await start_bot(options)
    crew = Crew(
        person(OWNER, "Wang"),
        person(LI, "Li"),
        person(CHEN, "Chen"),
        person(ZHOU, "Zhou") if admin else None,
    )
    await crew.owner.send(f"/start {workspace.owner_payload}")
    await crew.owner.expect("Welcome to")
    await join(crew.owner, crew.li)
    await join(crew.owner, crew.chen)
    if crew.zhou is not None:
        await join(crew.owner, crew.zhou, "admin")
    return crew


def member_id(db: Path, tg_user_id: int) -> int:
    """Return the member id of a Telegram user."""
    return int(query(db, "SELECT id FROM member WHERE tg_user_id = ?", tg_user_id)[0][0])


def seed_customer(db: Path, name: str, owner_tg: int | None, *, kind: str = "lead") -> int:
    """Insert a customer owned by the member with ``owner_tg`` (None: the pool); return its id."""
    owner = member_id(db, owner_tg) if owner_tg else None
    execute(
        db,
        "INSERT INTO customer (workspace_id, owner_member_id, name, kind, consent, reachable, "
        "source, stage, score, owner_assigned_at, created_at, updated_at) "
        "VALUES (1, ?, ?, ?, 'unknown', 1, 'staff', 'new', 0, ?, ?, ?)",
        owner,
        name,
        kind,
        NOW_SQL if owner else None,
        NOW_SQL,
        NOW_SQL,
    )
    return int(query(db, "SELECT max(id) FROM customer")[0][0])


async def test_stages_move_rename_and_convert(
    options: BotOptions,
    workspace: Workspace,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
) -> None:
    crew = await open_shop(options, workspace, start_bot, person)
    db = options.db_path
    zhao = seed_customer(db, "Zhao", LI)
    qian = seed_customer(db, "Qian", CHEN)
    li, owner = crew.li, crew.owner

    await li.send("/stages")
    await li.expect("Stages", "• New", "• Won", "• Lost")
    await li.send("/stages rename won Paid")
    await li.expect("Sorry, your role can't do that.")
    await owner.send("/stages rename won")
    await owner.expect("Send it like this: /stages rename won Paid")
    await owner.send("/stages rename won Paid")
    await owner.expect("Stage renamed", "• Paid")

    await li.send(f"/stage {zhao}")
    await li.expect("Zhao (#", "is at stage New", "Move to")
    await li.press("Contacted")
    await li.expect("Zhao", "moved from New to Contacted")
    await li.send(f"/stage {zhao} closed")
    await li.expect("There's no stage called “closed”. Send /stages to see them.")
    await li.send("/stage twelve won")
    await li.expect("Send it like this: /stage 12 won")
    await li.send(f"/stage {zhao} PAID")
    await li.expect("moved from Contacted to Paid", "Converted: this lead is now a customer")
    assert query(db, "SELECT stage, kind FROM customer WHERE id = ?", zhao) == [
        ("won", "customer")
    ]

    # Scope: Li cannot move Chen's customer, and nothing changes.
    await li.send(f"/stage {qian} won")
    await li.expect(f"I can't find customer #{qian} among yours.")
    assert query(db, "SELECT stage, kind FROM customer WHERE id = ?", qian) == [("new", "lead")]
    assert query(
        db,
        "SELECT count(*) FROM audit_log WHERE action = 'customer.stage' AND entity_id = ?",
        zhao,
    ) == [(2,)]


async def test_pool_claim_assign_and_return_days(
    options: BotOptions,
    workspace: Workspace,
    emu: Emulator,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
) -> None:
    crew = await open_shop(options, workspace, start_bot, person)
    db = options.db_path
    li, chen, owner = crew.li, crew.chen, crew.owner
    for tg, name in ((SUN, "Sun"), (QIAN_TG, "Qian")):
        customer = person(tg, name)
        await customer.send(f"/start w_{workspace.slug}")
        await customer.expect("May we send you messages")
    sun, qian = (
        int(query(db, "SELECT id FROM customer WHERE tg_user_id = ?", tg)[0][0])
        for tg in (SUN, QIAN_TG)
    )

    await li.send("/help customers")
    help_text = await li.expect("/pool", "/claim", "/stage", "/tag", "/buy", "/purchases")
    assert "/tagdef" not in help_text["text"] and "/reassign" not in help_text["text"]
    await li.send("/pool")
    pool = await li.expect("Lead pool: 2 waiting", f"Sun (#{sun})", f"Qian (#{qian})")
    assert "Assign" not in str(pool["reply_markup"])
    # A forged Assign button from a rep is refused.
    await emu.post(
        "callback", user_id=LI, message_id=pool["message_id"], data=f"pl:t:{qian}:1", force=True
    )
    await li.expect("Sorry, your role can't do that.")
    await li.press(f"Claim #{sun}", pool)
    await li.expect(f"Sun (#{sun}) is your lead now")
    await chen.send(f"/claim {sun}")
    await chen.expect(f"Lead #{sun} has already been taken.")
    await chen.send("/claim 999")
    await chen.expect("There's no lead #999 in the pool.")
    await chen.send("/claim me")
    await chen.expect("Send it like this: /claim 12")

    await owner.send("/pool")
    await owner.expect("Lead pool: 1 waiting", f"Qian (#{qian})")
    await owner.press(f"Assign #{qian}")
    await owner.expect(f"Who should take Qian (#{qian})?")
    await owner.press("Chen")
    await owner.expect(f"Qian (#{qian}) now belongs to Chen.")
    await chen.expect(f"Wang gave you Qian (#{qian}).")
    await chen.send("/pool")
    await chen.expect("The lead pool is empty.")

    await li.send(f"/assign {sun} Chen")
    await li.expect("Sorry, /assign isn't available to you.")
    await owner.send(f"/assign {sun} Nobody")
    await owner.expect("I can't find a colleague called “Nobody”")
    await owner.send(f"/assign {sun} ch")
    await owner.expect(f"Sun (#{sun}) now belongs to Chen.")
    rows = query(
        db,
        "SELECT m.display_name, c.owner_assigned_at IS NOT NULL FROM customer c "
        "JOIN member m ON m.id = c.owner_member_id ORDER BY c.id",
    )
    assert rows == [("Chen", 1), ("Chen", 1)]

    await li.send("/leaddays 3")
    await li.expect("Sorry, /leaddays isn't available to you.")
    await owner.send("/leaddays soon")
    await owner.expect("Send it like this: /leaddays 14")
    await owner.send("/leaddays 3")
    await owner.expect("without follow-up for 3 days returns to the pool")
    assert query(db, "SELECT lead_return_days FROM workspace") == [(3,)]
