"""The sandbox's first minutes: the demo shop starts consistent, with figures to look at."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crm import at_risk, churn, leads
from bot.crm.models import Customer, Purchase, Reminder
from bot.crm.store import unit_of_work
from bot.sandbox.demo import seed_demo
from tests.e2e.harness import Emulator, Person, Process, base_env, free_port

NOW = datetime(2026, 12, 4, 5, 0, tzinfo=UTC)


async def _count(session: AsyncSession, query: Select[Any]) -> int:
    return int(await session.scalar(query) or 0)


async def test_demo_shop_starts_fresh_with_tiers_and_quiet_alerts(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await seed_demo(session, now=NOW)
    ws = shop.workspace.id
    async with unit_of_work(sessions) as session:
        # No lead goes back to the pool at start, and no reminder fires at once.
        assert await leads.return_stale_leads(session, now=NOW) == []
        soon = select(func.count()).where(
            Reminder.fired_at.is_(None), Reminder.due_at < NOW + timedelta(hours=1)
        )
        assert await _count(session, soon) == 0
        assert await _count(session, select(func.count()).where(Reminder.fired_at.is_(None))) > 0
        # Value tiers are computed for every buyer.
        computed = select(func.count()).where(Customer.tiers_computed_at.is_not(None))
        buyers = select(func.count(func.distinct(Purchase.customer_id)))
        assert await _count(session, computed) >= await _count(session, buyers) > 0
        tiered = select(func.count()).where(Customer.value_tier.is_not(None))
        assert await _count(session, tiered) > 0
        # A few regulars drift away; they are listed, their alerts count as sent.
        risky = select(func.count()).where(Customer.at_risk_since.is_not(None))
        assert await _count(session, risky) >= 3
        assert await at_risk.pending_by_member(session, ws) == {}
        assert await churn.detect(session, ws, now=NOW + timedelta(minutes=1)) == []


async def test_sandbox_starts_quietly_with_figures_in_persona_chats(tmp_path: Path) -> None:
    port = free_port()
    proc = Process(
        [sys.executable, "-m", "bot", "run"],
        base_env(
            {
                "SCRM_SANDBOX__PORT": str(port),
                "SCRM_DATABASE__URL": f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}",
            }
        ),
    )
    await proc.start()
    emu = Emulator(f"http://127.0.0.1:{port}")
    try:
        await proc.wait_for(r"is running")
        # The web chat's people exist from the start, before anyone opens the page.
        listed = (await emu.http.get("/_emulator/users")).json()["users"]
        users = {user["id"]: user["first_name"] for user in listed}
        assert users == {1001: "Wang", 1002: "Li", 1003: "Chen", 2001: "Zhao", 2002: "Sun"}
        owner = Person(emu, 1001, "Wang")
        await owner.send("/atrisk")
        await owner.expect("quiet")
        await owner.send("/stats")
        await owner.expect("Customers by value tier")
        await asyncio.sleep(2)  # the jobs that run at start have had their turn
        problems = [line for line in proc.lines if " WARNING " in line or " ERROR " in line]
        assert problems == []
    finally:
        await emu.close()
        await proc.stop()


async def test_a_restart_keeps_the_chats_and_added_people(tmp_path: Path) -> None:
    port = free_port()
    env = base_env(
        {
            "SCRM_SANDBOX__PORT": str(port),
            "SCRM_DATABASE__URL": f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}",
        }
    )
    rep_said: list[str] = []
    for start in (1, 2):
        proc = Process([sys.executable, "-m", "bot", "run"], env)
        await proc.start()
        emu = Emulator(f"http://127.0.0.1:{port}")
        try:
            await proc.wait_for(r"is running")
            rep = Person(emu, 1002, "Li")
            if start == 1:
                await emu.post("users", id=3001, first_name="Guo")
                await rep.send("/find Zhao")
                await rep.expect("Zhao Lei")
                rep_said = [m.get("text") or "" for m in await emu.messages(1002)]
                continue
            # The page finds the same people and the rep's chat as it was.
            listed = (await emu.http.get("/_emulator/users")).json()["users"]
            assert {user["id"]: user["first_name"] for user in listed}[3001] == "Guo"
            kept = [m.get("text") or "" for m in await emu.messages(1002)]
            assert kept[: len(rep_said)] == rep_said
            assert "/find Zhao" in kept
            # And the conversation goes on in that chat.
            rep.cursor = max(m["seq"] for m in await emu.messages(1002))
            await rep.send("/find Zhao")
            await rep.expect("Zhao")
        finally:
            await emu.close()
            await proc.stop()
    assert (tmp_path / "demo.db.chats.json").is_file()
