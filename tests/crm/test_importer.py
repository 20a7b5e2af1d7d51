"""Customer import on a real database: reading files, row checks, duplicates, all-or-nothing."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook  # type: ignore[import-untyped]
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crm import export, importer, spreadsheet
from bot.crm.export import Format
from bot.crm.export_filter import ExportFilter
from bot.crm.models import AuditLog, Company, Customer, CustomerTag
from bot.crm.store import unit_of_work
from bot.errors import InvalidInput
from tests.crm.test_export import NOW, seed
from tests.spreadsheets import bomb_xlsx, encoded_csv, unicode_text, xlsx


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
    table = spreadsheet.read_table(content, "people.csv")
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


async def test_tags_and_companies_land_on_their_own_rows_across_chunks(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # More rows than one insert chunk: each row's tag and company must reach that row.
    rows = [
        f"Row {i},13900{i:06d},{'vip' if i % 7 == 0 else ''},Shop {i % 3} / Branch {i % 5}"
        for i in range(importer.CHUNK * 2 + 37)
    ]
    table = spreadsheet.read_table(
        csv_file("name,phone,tags,company\n" + "\n".join(rows)), "x.csv"
    )
    async with unit_of_work(sessions) as session:
        people = await seed(session)
        plan = await importer.check_rows(session, actor=people["li"], table=table)
        assert plan.errors == []
        imported = await importer.import_rows(session, actor=people["li"], plan=plan, fmt="csv")
        assert imported == len(rows)
    async with sessions() as session:
        tagged = await session.scalars(
            select(Customer.name)
            .join(CustomerTag, CustomerTag.customer_id == Customer.id)
            .where(Customer.name.like("Row %"))
        )
        assert sorted(tagged) == sorted(f"Row {i}" for i in range(len(rows)) if i % 7 == 0)
        placed = await session.execute(
            select(Customer.name, Company.name, Company.parent_id)
            .join(Company, Company.id == Customer.company_id)
            .where(Customer.name.like("Row %"))
        )
        parents = {c.id: c.name for c in await session.scalars(select(Company))}
        for name, branch, parent_id in placed:
            i = int(name.split()[1])
            assert (parents[parent_id], branch) == (f"Shop {i % 3}", f"Branch {i % 5}")


async def test_every_bad_row_is_reported(sessions: async_sessionmaker[AsyncSession]) -> None:
    content = csv_file(
        "name,phone,stage,grade,route_order,score\n"
        "Good,13800138200,new,A,1,5\n"
        ",13800138201,,,,\n"
        "Bad Phone,12345,,,,\n"
        "Bad Stage,,sold,Z,-1,many\n" + ("x" * 201) + ",,,,,\n"
    )
    table = spreadsheet.read_table(content, "bad.csv")
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
    table = spreadsheet.read_table(csv_file("name,phone\nGood,13800138300\nBad,999\n"), "x.csv")
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
    table = spreadsheet.read_table(content, "dups.csv")
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
            table = spreadsheet.read_table(file.content, file.filename)
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
    table = spreadsheet.read_table(buffer.getvalue(), "book.xlsx")
    assert table.rows == ((2, ("Wu", "13800138500", "2")),)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"", "empty"),
        (csv_file("phone\n1\n"), "name"),
        (b"PK\x03\x04 not really a workbook", "can't read"),
        (b"\xff\xfe\x00\xd8broken", "can't read"),
        (csv_file("name\n" + "x\n" * (spreadsheet.MAX_ROWS + 1)), "more than 5000"),
        (b"name\n" + b"x" * spreadsheet.MAX_BYTES, "too big"),
    ],
)
def test_unreadable_files_are_refused(content: bytes, fragment: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        spreadsheet.read_table(content, "file.csv")
    assert fragment in caught.value.key.format(**caught.value.params)


def refusal(exc: pytest.ExceptionInfo[InvalidInput]) -> str:
    """Return the refusal as the user reads it (in English)."""
    return exc.value.key.format(**exc.value.params)


@pytest.mark.timeout(30)
def test_a_zip_bomb_is_refused_before_unpacking() -> None:
    bomb = bomb_xlsx()
    assert len(bomb) < 200_000
    with pytest.raises(InvalidInput) as caught:
        spreadsheet.read_table(bomb, "bomb.xlsx")
    assert "unpacks to more than 30 MB" in refusal(caught)


@pytest.mark.timeout(30)
def test_a_member_inflating_over_the_ratio_is_refused_under_the_total() -> None:
    bomb = bomb_xlsx(unpacked=5 * 1024 * 1024)
    with pytest.raises(InvalidInput) as caught:
        spreadsheet.check_archive(bomb)
    assert "unpacks to more than 30 MB" in refusal(caught)


@pytest.mark.timeout(30)
def test_an_ordinary_workbook_passes_the_archive_check() -> None:
    rows = [["name", "phone", "company"]] + [
        [f"Customer {i}", f"1380013{i:04d}", f"Company {i % 50}"] for i in range(2000)
    ]
    content = xlsx(rows)
    spreadsheet.check_archive(content)
    assert len(spreadsheet.read_table(content, "big.xlsx").rows) == 2000


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("content", "filename", "fragment"),
    [
        (csv_file(",".join(f"c{i}" for i in range(61)) + ",name\nx\n"), "wide.csv", "60 columns"),
        (xlsx([[*(f"c{i}" for i in range(61)), "name"]]), "wide.xlsx", "60 columns"),
        (csv_file("name,note\nWu," + "x" * 1001 + "\n"), "long.csv", "Row 2 has a cell longer"),
        (xlsx([["name"], ["ok"], ["y" * 1001]]), "long.xlsx", "Row 3 has a cell longer than 1000"),
    ],
)
def test_columns_and_cell_length_are_limited(content: bytes, filename: str, fragment: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        spreadsheet.read_table(content, filename)
    assert fragment in refusal(caught)


ROWS = [["姓名", "电话", "公司"], ["张三", "13800138000", "绿叶茶行"], ["李四", "", "Tea Co"]]
TRADITIONAL = [["姓名", "電話", "公司"], ["陳大文", "0912345678", "臺灣茶館"]]


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (unicode_text(ROWS), ROWS),
        (encoded_csv(ROWS, "gbk"), ROWS),
        (encoded_csv(ROWS, "gb18030"), ROWS),
        (encoded_csv(ROWS, "utf-8"), ROWS),
        (csv_file("\n".join(",".join(r) for r in ROWS)), ROWS),
        (encoded_csv(TRADITIONAL, "big5"), TRADITIONAL),
        ("\n".join("\t".join(r) for r in ROWS).encode(), ROWS),
    ],
    ids=["utf-16 unicode text", "gbk", "gb18030", "utf-8", "utf-8 bom", "big5", "utf-8 tabs"],
)
def test_common_encodings_and_tabs_are_read(content: bytes, expected: list[list[str]]) -> None:
    table = spreadsheet.read_table(content, "customers.csv")
    assert list(table.columns) == ["name", "phone", "company"]
    assert [list(cells) for _, cells in table.rows] == [
        [cell for cell in row] for row in expected[1:]
    ]


@pytest.mark.timeout(60)
async def test_check_file_reads_in_a_worker_and_reports_rows(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        people = await seed(session)
        clean, plan = await importer.check_file(
            session,
            actor=people["li"],
            content=unicode_text([["姓名", "电话"], ["王五", "13800138100"], ["", "13800138101"]]),
            filename="Unicode.csv",
        )
        assert (clean.format, clean.total) == ("csv", 2)
        assert [row["name"] for row in plan.rows] == ["王五"]
        assert [(e.line, e.key) for e in plan.errors] == [(3, "the name is missing")]
        with pytest.raises(InvalidInput) as caught:
            await importer.check_file(
                session, actor=people["li"], content=bomb_xlsx(), filename="b.xlsx"
            )
        assert "unpacks to more than 30 MB" in refusal(caught)


def test_a_broken_csv_is_refused() -> None:
    with pytest.raises(InvalidInput, match="can't read"):
        spreadsheet.read_table(b'name\n"' + b"x" * 200_000 + b"\n", "long.csv")
