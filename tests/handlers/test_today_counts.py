"""/today adds up: the overdue are counted among the due, and a new customer is not stale."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.localtime import local_day, local_midnight, zone
from tests.e2e.harness import Workspace, execute
from tests.e2e.test_pipeline import LI, member_id, seed_customer
from tests.handlers.chat import ChatBot, Person, open_shop

SHANGHAI = zone("Asia/Shanghai")


def stamp(moment: datetime) -> str:
    """Return a UTC instant the way the bot stores it in SQLite."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def later_today(now: datetime) -> datetime:
    """Return an instant after ``now`` and before the shop's next midnight."""
    midnight = local_midnight(local_day(now, SHANGHAI) + timedelta(days=1), SHANGHAI)
    return now + (midnight - now) / 2


def remind(db: Path, rep_id: int, customer_id: int, text: str, due_at: datetime) -> None:
    """Insert an open reminder of the rep's about a customer."""
    execute(
        db,
        "INSERT INTO reminder (workspace_id, member_id, customer_id, text, due_at, created_at)"
        " VALUES (1, ?, ?, ?, ?, ?)",
        rep_id,
        customer_id,
        text,
        stamp(due_at),
        stamp(due_at - timedelta(days=1)),
    )


def customers_of_li(db: Path) -> dict[str, int]:
    """Give Li four customers: old and never contacted, new, stale, contacted yesterday."""
    now = datetime.now(UTC)
    ids = {name: seed_customer(db, name, LI) for name in ("Old", "New", "Stale", "Fresh")}
    execute(db, "UPDATE customer SET created_at = ?", stamp(now - timedelta(days=30)))
    new_at = stamp(now - timedelta(minutes=5))
    execute(db, "UPDATE customer SET created_at = ? WHERE id = ?", new_at, ids["New"])
    stale_at = stamp(now - timedelta(days=8))
    execute(db, "UPDATE customer SET last_contact_at = ? WHERE id = ?", stale_at, ids["Stale"])
    fresh_at = stamp(now - timedelta(days=1))
    execute(db, "UPDATE customer SET last_contact_at = ? WHERE id = ?", fresh_at, ids["Fresh"])
    return ids


async def test_today_counts_the_overdue_among_the_due_and_skips_new_customers(
    chat: ChatBot, workspace: Workspace, person: Callable[..., Person]
) -> None:
    crew = await open_shop(chat, workspace)
    db = chat.db_path
    ids = customers_of_li(db)
    li_id = member_id(db, LI)
    now = datetime.now(UTC)
    remind(db, li_id, ids["Old"], "bring the tea set", now - timedelta(hours=3))
    remind(db, li_id, ids["Stale"], "send the invoice", now - timedelta(hours=1))
    remind(db, li_id, ids["Fresh"], "call about oolong", later_today(now))

    await crew.li.send("/today")
    today = await crew.li.expect("Today: 3 due, 2 of them overdue.")
    text = today["text"]
    assert "2 overdue" not in text
    for item in ("bring the tea set", "send the invoice", "call about oolong"):
        assert item in text
    assert text.count("🔴") == 2
    assert text.count("🕒") == 1
    stale = text.split("Not contacted for 7 days: ")[1]
    assert stale.startswith("2")
    assert f"#{ids['Old']} Old" in stale
    assert f"#{ids['Stale']} Stale" in stale
    assert "New" not in stale
    assert "Fresh" not in stale

    await crew.owner.send("/today")
    team = await crew.owner.expect("Li: 3 due, 2 of them overdue; 2 not contacted for 7 days")
    assert team["text"].count("🔴") == 2
    assert "Chen: 0 due; 0 not contacted for 7 days" in team["text"]


async def test_today_without_overdue_says_only_how_many_are_due(
    chat: ChatBot, workspace: Workspace, person: Callable[..., Person]
) -> None:
    crew = await open_shop(chat, workspace)
    db = chat.db_path
    ids = customers_of_li(db)
    due = later_today(datetime.now(UTC))
    remind(db, member_id(db, LI), ids["Fresh"], "call about oolong", due)

    await crew.li.send("/today")
    today = await crew.li.expect("Today: 1 due.")
    assert "overdue" not in today["text"]
    await crew.chen.send("/today")
    nothing = await crew.chen.expect("Today: nothing due.")
    assert "Not contacted" not in nothing["text"]


async def test_today_in_chinese_adds_up(
    chat: ChatBot, workspace: Workspace, person: Callable[..., Person]
) -> None:
    crew = await open_shop(chat, workspace)
    db = chat.db_path
    ids = customers_of_li(db)
    li_id = member_id(db, LI)
    now = datetime.now(UTC)
    remind(db, li_id, ids["Old"], "带茶具", now - timedelta(hours=3))
    remind(db, li_id, ids["Fresh"], "打电话", later_today(now))

    await crew.li.send("/lang zh-CN")
    await crew.li.expect("✅")
    await crew.li.send("/today")
    today = await crew.li.expect("今天：到期 2 条，其中 1 条已逾期。")
    assert "7 天未联系：2 位" in today["text"]
    await crew.owner.send("/lang zh-CN")
    await crew.owner.expect("✅")
    await crew.owner.send("/today")
    await crew.owner.expect("Li：到期 2 条，其中 1 条已逾期；7 天未联系 2 位")
