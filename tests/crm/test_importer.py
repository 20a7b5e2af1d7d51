"""Customer import on a real database: reading files, row checks, duplicates, all-or-nothing."""

from __future__ import annotations

import io
import zipfile

import pytest
from openpyxl import Workbook  # type: ignore[import-untyped]
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crm import export, importer
from bot.crm.export import ExportFilter, Format
from bot.crm.models import AuditLog, Company, Customer, CustomerTag
from bot.crm.store import unit_of_work
from bot.errors import InvalidInput
from tests.crm.test_export import NOW, seed


def csv_file(text: str) -> bytes:
    """Return CSV bytes as Excel would save them (with a BOM)."""
    return text.encode("utf-8-sig")


async def count(session: AsyncSession, model: type[object]) -> int:
    """Return how many rows a table has."""
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_good_rows_import_with_companies_and_tags(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    content = csv_file(
        "姓名,电话,公司,stage,grade,Tags,Route order,ownership,Business type,colour,consent\n"
        '王五,138 0013 8100,Green Leaf,won,a,"vip, newbie",3,Joint-stock,retailer,red,opted_in\n'
        "Ma Six,,=Tea Co,,,,,,,blue,\n"
    )
    table = importer.read_table(content, "people.csv")
    assert table.unknown == ("colour",)
    async with unit_of_work(sessions) as session:
        people = await seed(session)
        plan = await importer.check_rows(session, actor=people["li"], table=table)
        assert plan.errors == []
        assert plan.unknown_tags == ["newbie"]
        assert await importer.import_rows(session, actor=people["li"], plan=plan, fmt="csv") == 2
    async with sessions() as session:
        wang = await session.scalar(select(Customer).where(Customer.name == "王五"))
        assert wang is not None
        assert (wang.phone, wang.stage, wang.grade, wang.route_order) == (
            "+8613800138100",
            "won",
            "A",
            3,
        )
        assert (wang.ownership, wang.business_type, wang.owner_member_id) == (
            "joint_stock",
            "retailer",
            people["li"].id,
        )
        assert str(wang.consent) == "unknown"  # consent is never imported
        assert await count(session, CustomerTag) == 2  # the seeded one and wang's vip
        names = (await session.scalars(select(Company.name).order_by(Company.name))).all()
        assert names == ["=Tea Co", "Green Leaf"]  # the existing company was reused
        entry = await session.scalar(select(AuditLog).where(AuditLog.action == "customer.import"))
        assert entry is not None
        assert entry.details == {"format": "csv", "rows": 2, "duplicates": 0}


async def test_every_bad_row_is_reported(sessions: async_sessionmaker[AsyncSession]) -> None:
    content = csv_file(
        "name,phone,stage,grade,route_order,score\n"
        "Good,13800138200,new,A,1,5\n"
        ",13800138201,,,,\n"
        "Bad Phone,12345,,,,\n"
        "Bad Stage,,sold,Z,-1,many\n" + ("x" * 201) + ",,,,,\n"
    )
    table = importer.read_table(content, "bad.csv")
    async with unit_of_work(sessions) as session:
        people = await seed(session)
        plan = await importer.check_rows(session, actor=people["li"], table=table)
    lines = [(e.line, e.key.split()[0]) for e in plan.errors]
    assert lines == [
        (3, "the"),
        (4, "“{value}”"),
        (5, "{column}"),
        (5, "grade"),
        (5, "{column}"),
        (5, "{column}"),
        (6, "{column}"),
    ]
    assert plan.errors[1].params == {"value": "12345"}
    assert len(plan.rows) == 1


async def test_a_plan_with_errors_writes_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    table = importer.read_table(csv_file("name,phone\nGood,13800138300\nBad,999\n"), "x.csv")
    async with sessions() as session:
        people = await seed(session)
        await session.commit()
        plan = await importer.check_rows(session, actor=people["li"], table=table)
        with pytest.raises(InvalidInput):
            await importer.import_rows(session, actor=people["li"], plan=plan, fmt="csv")
        await session.rollback()
    async with sessions() as session:
        assert await count(session, Customer) == 5


async def test_duplicates_are_skipped(sessions: async_sessionmaker[AsyncSession]) -> None:
    content = csv_file(
        "name,phone\n"
        "Again,+86 138 0013 8001\n"  # the seeded 张三's phone
        "New,13800138400\n"
        "New twin,138-0013-8400\n"  # same phone as the row above
        "No phone,\n"
    )
    table = importer.read_table(content, "dups.csv")
    async with unit_of_work(sessions) as session:
        people = await seed(session)
        plan = await importer.check_rows(session, actor=people["zhou"], table=table)
        assert (plan.duplicates_in_shop, plan.duplicates_in_file) == (1, 1)
        assert [r["name"] for r in plan.rows] == ["New", "No phone"]


async def test_an_export_reimported_creates_no_duplicates(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        people = await seed(session)
        for fmt in Format:
            file = await export.export_customers(
                session, actor=people["admin"], fmt=fmt, filters=ExportFilter(), now=NOW
            )
            table = importer.read_table(file.content, file.filename)
            assert table.unknown == ()
            plan = await importer.check_rows(session, actor=people["admin"], table=table)
            assert plan.errors == []
            assert plan.rows == []
            assert plan.duplicates_in_shop == 4  # the phone-less one by its id and name


async def test_xlsx_with_numbers_reads_as_text() -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["Name", "Phone", "Route_order"])
    sheet.append(["Wu", 13800138500, 2.0])
    buffer = io.BytesIO()
    book.save(buffer)
    table = importer.read_table(buffer.getvalue(), "book.xlsx")
    assert table.rows == ((2, ("Wu", "13800138500", "2")),)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"", "empty"),
        (csv_file("phone\n1\n"), "name"),
        (b"PK\x03\x04 not really a workbook", "can't read"),
        (b"\xff\xfe\x00\xd8broken", "can't read"),
        (csv_file("name\n" + "x\n" * (importer.MAX_ROWS + 1)), "more than 5000"),
        (b"name\n" + b"x" * importer.MAX_BYTES, "too big"),
    ],
)
def test_unreadable_files_are_refused(content: bytes, fragment: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        importer.read_table(content, "file.csv")
    assert fragment in caught.value.key.format(**caught.value.params)


def test_a_zip_bomb_is_refused_before_unpacking() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/sharedStrings.xml", b"\0" * (importer.MAX_UNPACKED + 1))
    with pytest.raises(InvalidInput, match="too big"):
        importer.read_table(buffer.getvalue(), "bomb.xlsx")


def test_a_broken_csv_is_refused() -> None:
    with pytest.raises(InvalidInput, match="can't read"):
        importer.read_table(b'name\n"' + b"x" * 200_000 + b"\n", "long.csv")
