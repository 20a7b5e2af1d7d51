"""/stats and /spend as an owner and a rep see them: figures, period buttons and chart photos."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.harness import BotOptions, Person, Workspace, execute, query
from tests.e2e.test_followups import stamp
from tests.e2e.test_pipeline import CHEN, LI, Crew, member_id, open_shop

PNG = b"\x89PNG\r\n\x1a\n"


def seed_lead(db: Path, name: str, owner_tg: int) -> int:
    """Insert a lead of a rep, created yesterday; return its id."""
    yesterday = stamp(datetime.now(UTC) - timedelta(days=1))
    execute(
        db,
        "INSERT INTO customer (workspace_id, owner_member_id, name, kind, consent, reachable,"
        " source, stage, score, owner_assigned_at, created_at, updated_at)"
        " VALUES (1, ?, ?, 'lead', 'unknown', 1, 'staff', 'new', 0, ?, ?, ?)",
        member_id(db, owner_tg),
        name,
        yesterday,
        yesterday,
        yesterday,
    )
    return int(query(db, "SELECT max(id) FROM customer")[0][0])


def seed_rep_work(db: Path, customer_id: int) -> None:
    """Give Li a follow-up logged an hour ago and Chen a reminder that fell due an hour ago."""
    hour_ago = stamp(datetime.now(UTC) - timedelta(hours=1))
    execute(
        db,
        "INSERT INTO follow_up (workspace_id, customer_id, member_id, channel, summary, at)"
        " VALUES (1, ?, ?, 'call', 'called', ?)",
        customer_id,
        member_id(db, LI),
        hour_ago,
    )
    execute(
        db,
        "INSERT INTO reminder (workspace_id, member_id, text, due_at, created_at)"
        " VALUES (1, ?, 'call back', ?, ?)",
        member_id(db, CHEN),
        hour_ago,
        hour_ago,
    )


async def download_photo(message: dict[str, Any]) -> bytes:
    """Fetch the largest size of the photo a bot message carries, as a client would."""
    async with httpx.AsyncClient() as http:
        response = await http.get(message["photo"][-1]["url"])
    response.raise_for_status()
    return response.content


async def shop_with_sales(
    options: BotOptions,
    workspace: Workspace,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
) -> Crew:
    """Three new leads; Li sells to Zhao twice, Chen to Qian once; Sun stays a lead."""
    crew = await open_shop(options, workspace, start_bot, person)
    db = options.db_path
    zhao = seed_lead(db, "Zhao", LI)
    qian = seed_lead(db, "Qian", CHEN)
    seed_lead(db, "Sun", CHEN)
    seed_rep_work(db, zhao)
    await crew.li.send(f"/buy {zhao} 100")
    await crew.li.expect("¥100.00 recorded")
    await crew.li.send(f"/buy {zhao} 50")
    await crew.li.expect("¥50.00 recorded")
    await crew.chen.send(f"/buy {qian} 200")
    await crew.chen.expect("¥200.00 recorded")
    return crew


async def test_owner_sees_shop_figures_and_charts(
    options: BotOptions,
    workspace: Workspace,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
) -> None:
    crew = await shop_with_sales(options, workspace, start_bot, person)
    owner = crew.owner

    await owner.send("/stats 30d")
    figures = await owner.expect(
        "📊 Shop figures, the last 30 days",
        "🆕 New leads: 3 · converted 2 (67%)",
        "🔁 Repurchase rate: 50% (1 of 2 buyers)",
        "📉 Churn rate: — (0 of 0 earlier buyers",
        "🙋 Active customers: 2",
        "🤝 New customers: 2 · CAC: record marketing spend with /spend",
        # ¥350 over 2 buyers in under a year, × 3 years.
        "💎 Average CLTV: ¥525.00 (estimate",
        "😊 Satisfaction: no survey answers in this period",
        "📬 Campaigns delivered: — (0 of 0)",
        "• Chen: 0 / 1",
        "• Li: 1 / 0",
    )
    assert len(figures["text"].splitlines()) <= 20
    photo = await owner.expect("📈 New leads, contacted and won, by week")
    assert (await download_photo(photo)).startswith(PNG)
    tiers = await owner.expect("💎 Customers by value tier")
    assert (await download_photo(tiers)).startswith(PNG)
    reps = await owner.expect("✅ Follow-ups done vs due, per rep")
    assert (await download_photo(reps)).startswith(PNG)

    await owner.send("/stats")
    await owner.expect("📊 Shop figures, this month")
    await owner.press("Week")
    await owner.expect("📊 Shop figures, this week")
    await owner.expect("📈 New leads, contacted and won, by week")

    await owner.send("/stats decade")
    hint = await owner.expect("Which period? Send /stats week, month, quarter, year, 30d or 90d.")
    await owner.press("90 days", hint)
    await owner.expect("📊 Shop figures, the last 90 days", "🆕 New leads: 3")


@pytest.mark.parametrize("framework", ["ptb"])  # a chat flow: one framework
async def test_rep_sees_only_their_own_figures(
    options: BotOptions,
    workspace: Workspace,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
) -> None:
    crew = await shop_with_sales(options, workspace, start_bot, person)
    li = crew.li

    await li.send("/stats 30d")
    figures = await li.expect(
        "📊 Your figures, the last 30 days",
        "🆕 New leads: 1 · converted 1 (100%)",
        "🔁 Repurchase rate: 100% (1 of 1 buyer)",
        "🙋 Active customers: 1",
        "🤝 New customers: 1",
        "💎 Average CLTV: ¥450.00 (estimate",
        "• Li: 1 / 0",
    )
    assert "Chen" not in figures["text"]
    assert "CAC" not in figures["text"]
    photo = await li.expect("📈 New leads, contacted and won, by week")
    assert (await download_photo(photo)).startswith(PNG)


@pytest.mark.parametrize("framework", ["aiogram"])  # a chat flow: one framework
async def test_spend_is_recorded_listed_and_used_for_cac(
    options: BotOptions,
    workspace: Workspace,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
) -> None:
    crew = await shop_with_sales(options, workspace, start_bot, person)
    owner = crew.owner

    await owner.send("/spend")
    await owner.expect("No marketing spend recorded this month yet.", "/spend 500 flyers")
    await owner.send("/spend 300 WeChat <ads>")
    await owner.expect("✅ Marketing spend of ¥300.00 recorded", "This month so far: ¥300.00.")
    await owner.send("/spend lots")
    await owner.expect("“lots” isn't an amount I understand.")
    await owner.send("/spend")
    await owner.expect("Marketing spend this month", "¥300.00 — WeChat <ads>", "Total ¥300.00")
    await owner.send("/stats 30d")
    await owner.expect("🤝 New customers: 2 · spend ¥300.00 · CAC ¥150.00")

    await crew.li.send("/spend 100")
    await crew.li.expect("Sorry, /spend isn't available to you.")
    assert query(
        options.db_path, "SELECT action, entity FROM audit_log WHERE action = 'spend.create'"
    ) == [("spend.create", "marketing_spend")]
    assert query(options.db_path, "SELECT amount_minor, note FROM marketing_spend") == [
        (30000, "WeChat <ads>")
    ]
