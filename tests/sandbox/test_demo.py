"""The demo shop the sandbox seeds: a team, 50 customers and their history, ready to explore."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crm import followups, search
from bot.crm.models import Consent, Customer, Member, Purchase, Role
from bot.crm.store import unit_of_work
from bot.sandbox.demo import CUSTOMERS, seed_demo
from tests.e2e.harness import Emulator, Person, Process, base_env, free_port

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


async def test_demo_shop_has_a_team_customers_and_history(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await seed_demo(session, now=NOW)
    async with sessions() as session:
        roles = (await session.execute(select(Member.tg_user_id, Member.role))).all()
        assert sorted(roles) == [(1001, Role.OWNER), (1002, Role.STAFF), (1003, Role.STAFF)]
        assert await session.scalar(select(func.count()).select_from(Customer)) == CUSTOMERS
        assert await session.scalar(select(func.count()).select_from(Purchase)) > 10
        pool = select(func.count()).select_from(Customer).where(Customer.owner_member_id.is_(None))
        assert await session.scalar(pool) > 0
        zhao = await session.scalar(select(Customer).where(Customer.tg_user_id == 2001))
        assert zhao is not None and zhao.consent is Consent.OPTED_IN
        li = await session.scalar(select(Member).where(Member.tg_user_id == 1002))
        assert li is not None
        found = await search.find_customers(session, actor=li, text=zhao.name)
        assert [c.id for c in found] == [zhao.id]
        day = await followups.today(session, actor=li, now=NOW)
        assert day.mine.stale_total > 0
    assert shop.workspace.name == "Demo Tea House"


async def test_sandbox_starts_with_the_demo_shop(tmp_path: Path) -> None:
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
        await proc.wait_for(r"Owner Wang, reps Li and Chen")
        await proc.wait_for(r"is running")
        owner = Person(emu, 1001, "Wang")
        await owner.send("/shop")
        await owner.expect("Demo Tea House", "Team: 3", f"Leads and customers: {CUSTOMERS}")
        rep = Person(emu, 1002, "Li")
        await rep.send("/today")
        await rep.expect("Today")
    finally:
        await emu.close()
        await proc.stop()
