"""Companies: paths of up to three levels, find-or-create and the parent chain."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crm import companies
from bot.crm.models import AuditLog, Company
from bot.crm.store import unit_of_work
from bot.errors import InvalidInput, NotFound
from tests.factories import make_shop


def test_parse_path() -> None:
    assert companies.parse_path("  Wang   Tea / Shanghai  branch ") == [
        "Wang Tea",
        "Shanghai branch",
    ]
    with pytest.raises(InvalidInput, match="levels deep"):
        companies.parse_path("A / B / C / D")
    with pytest.raises(InvalidInput, match="company name"):
        companies.parse_path("Wang Tea / ")
    with pytest.raises(InvalidInput, match="keep company names"):
        companies.parse_path("x" * 201)


async def test_resolve_path_finds_or_creates_each_level(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        other = await make_shop(session, "Other")
        pudong = await companies.resolve_path(
            session, actor=shop.li, path=["Wang Tea", "Shanghai", "Pudong"]
        )
        again = await companies.resolve_path(
            session, actor=shop.chen, path=["Wang Tea", "Shanghai", "Pudong"]
        )
        top = await companies.resolve_path(session, actor=shop.li, path=["Wang Tea"])
        elsewhere = await companies.resolve_path(session, actor=other.li, path=["Wang Tea"])
        chain = await companies.chain(
            session, workspace_id=shop.workspace.id, company_id=pudong.id
        )
        created = await session.scalar(
            select(func.count()).where(AuditLog.action == "company.create")
        )
    assert again.id == pudong.id and pudong.level == 3
    assert top.level == 1 and top.id == chain[0].id
    assert elsewhere.id != top.id and elsewhere.workspace_id == other.workspace.id
    assert companies.describe(chain) == "Wang Tea / Shanghai / Pudong"
    assert created == 4


async def test_a_fourth_level_is_refused(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        other = await make_shop(session, "Other")
        third = await companies.resolve_path(session, actor=shop.li, path=["A", "B", "C"])
        with pytest.raises(InvalidInput, match="levels deep"):
            await companies.create_branch(session, actor=shop.li, parent_id=third.id, name="D")
        with pytest.raises(NotFound):
            await companies.create_branch(session, actor=other.li, parent_id=third.id, name="D")
        branch = await companies.create_branch(
            session, actor=shop.li, parent_id=third.parent_id or 0, name="C2"
        )
        count = await session.scalar(select(func.count()).select_from(Company))
    assert branch.level == 3
    assert count == 4
