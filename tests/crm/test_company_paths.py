"""Companies keep their parent: /find matches any level, exports write it, imports read it."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook  # type: ignore[import-untyped]
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crm import companies, export, importer, search, spreadsheet, workspaces
from bot.crm.export import Format
from bot.crm.export_filter import ExportFilter
from bot.crm.models import Company, Customer, Member, Role
from bot.crm.store import unit_of_work
from tests.crm.test_export import NOW, add_member, csv_rows

JADE = ("Jade Garden Tea", "Hangzhou")
DEEP = ("Jade Garden Tea", "Hangzhou", "West Lake")


async def shop(session: AsyncSession, name: str, tg: int) -> Member:
    """Create a shop and return its owner."""
    ws = await workspaces.create_workspace(
        session, name=name, timezone="Asia/Shanghai", locale="en", region="CN"
    )
    return await add_member(session, ws.id, tg, Role.OWNER)


async def customer_at(
    session: AsyncSession, owner: Member, name: str, path: tuple[str, ...]
) -> Customer:
    """Add a customer working at the company ``path`` of the owner's shop."""
    company = await companies.resolve_path(session, actor=owner, path=path)
    customer = Customer(
        workspace_id=owner.workspace_id,
        name=name,
        owner_member_id=owner.id,
        company_id=company.id,
        created_at=NOW,
    )
    session.add(customer)
    await session.flush()
    return customer


async def tree(session: AsyncSession, workspace_id: int) -> set[tuple[str, ...]]:
    """Return every company of a shop as its path from the top."""
    found = await session.scalars(select(Company).where(Company.workspace_id == workspace_id))
    paths = set()
    for company in found.all():
        chain = await companies.chain(session, workspace_id=workspace_id, company_id=company.id)
        paths.add(tuple(c.name for c in chain))
    return paths


@pytest.mark.parametrize(
    "text", ["Jade", "jade garden", "Hangzhou", "Jade Garden Tea / Hangzhou", "jade/hang"]
)
async def test_find_matches_any_level_of_the_path(
    sessions: async_sessionmaker[AsyncSession], text: str
) -> None:
    async with unit_of_work(sessions) as session:
        owner = await shop(session, "Tea", 1)
        rival = await shop(session, "Rival", 2)
        await customer_at(session, owner, "Mei", JADE)
        await customer_at(session, owner, "Other", ("Green Leaf",))
        await customer_at(session, rival, "Rival's", JADE)
        found = await search.find_customers(session, actor=owner, text=text)
        assert [c.name for c in found] == ["Mei"]


async def test_find_reaches_the_third_level_and_not_the_wrong_path(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        owner = await shop(session, "Tea", 1)
        await customer_at(session, owner, "Deep", DEEP)
        await customer_at(session, owner, "Shanghai", ("Jade Garden Tea", "Shanghai"))
        by_top = await search.find_customers(session, actor=owner, text="Jade")
        assert [c.name for c in by_top] == ["Deep", "Shanghai"]
        by_path = await search.find_customers(session, actor=owner, text="hangzhou / West Lake")
        assert [c.name for c in by_path] == ["Deep"]
        by_branch = await search.find_customers(session, actor=owner, text="Jade / Hangzhou")
        assert [c.name for c in by_branch] == ["Deep"]  # a branch's own branches too
        assert await search.find_customers(session, actor=owner, text="Hangzhou / Jade") == []
        assert await search.find_customers(session, actor=owner, text="Jade / West Lake") == []
        assert await search.find_customers(session, actor=owner, text="a / b / c / d") == []


async def test_export_writes_the_full_path(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with unit_of_work(sessions) as session:
        owner = await shop(session, "Tea", 1)
        await customer_at(session, owner, "Mei", JADE)
        await customer_at(session, owner, "Deep", DEEP)
        await customer_at(session, owner, "Top", ("Green Leaf",))
        csv_file = await export.export_customers(
            session, actor=owner, fmt=Format.CSV, filters=ExportFilter(), now=NOW
        )
        xlsx_file = await export.export_customers(
            session, actor=owner, fmt=Format.XLSX, filters=ExportFilter(), now=NOW
        )
    wanted = {
        "Mei": "Jade Garden Tea / Hangzhou",
        "Deep": "Jade Garden Tea / Hangzhou / West Lake",
        "Top": "Green Leaf",
    }
    assert {r["name"]: r["company"] for r in csv_rows(csv_file.content)} == wanted
    sheet = load_workbook(io.BytesIO(xlsx_file.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    column = rows[0].index("company")
    assert {r[1]: r[column] for r in rows[1:]} == wanted


async def test_export_then_import_into_a_fresh_shop_keeps_the_tree(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        owner = await shop(session, "Tea", 1)
        await customer_at(session, owner, "Mei", JADE)
        await customer_at(session, owner, "Deep", DEEP)
        await customer_at(session, owner, "Sister", ("Jade Garden Tea", "Shanghai"))
        before = await tree(session, owner.workspace_id)
        for number, fmt in enumerate(Format):
            fresh = await shop(session, f"Fresh {fmt}", 10 + number)
            file = await export.export_customers(
                session, actor=owner, fmt=fmt, filters=ExportFilter(), now=NOW
            )
            table = spreadsheet.read_table(file.content, file.filename)
            plan = await importer.check_rows(session, actor=fresh, table=table)
            assert plan.errors == []
            assert await importer.import_rows(session, actor=fresh, plan=plan, fmt=fmt) == 3
            assert await tree(session, fresh.workspace_id) == before
            found = await search.find_customers(session, actor=fresh, text="Jade")
            assert [c.name for c in found] == ["Deep", "Mei", "Sister"]


async def test_import_reuses_the_existing_parent(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    content = "name,company\nNew,Jade Garden Tea/ Hangzhou\nBranch,Jade Garden Tea / Suzhou\n"
    async with unit_of_work(sessions) as session:
        owner = await shop(session, "Tea", 1)
        mei = await customer_at(session, owner, "Mei", JADE)
        table = spreadsheet.read_table(content.encode(), "people.csv")
        plan = await importer.check_rows(session, actor=owner, table=table)
        assert await importer.import_rows(session, actor=owner, plan=plan, fmt="csv") == 2
        new = await session.scalar(select(Customer).where(Customer.name == "New"))
        assert new is not None and new.company_id == mei.company_id
        assert await tree(session, owner.workspace_id) == {
            ("Jade Garden Tea",),
            JADE,
            ("Jade Garden Tea", "Suzhou"),
        }


async def test_import_refuses_a_fourth_level(sessions: async_sessionmaker[AsyncSession]) -> None:
    content = "name,company\nToo deep,A / B / C / D\n"
    async with unit_of_work(sessions) as session:
        owner = await shop(session, "Tea", 1)
        table = spreadsheet.read_table(content.encode(), "people.csv")
        plan = await importer.check_rows(session, actor=owner, table=table)
        assert [(e.line, e.params) for e in plan.errors] == [
            (2, {"value": "A / B / C / D", "max": 3})
        ]
