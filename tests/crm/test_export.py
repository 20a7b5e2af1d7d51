"""Customer export on a real database: scope by role, filters, file formats and the audit."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook  # type: ignore[import-untyped]
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crm import export, workspaces
from bot.crm.export import Format, columns_for
from bot.crm.export_filter import ExportFilter, parse_filter
from bot.crm.models import (
    AuditLog,
    Company,
    Customer,
    CustomerShare,
    CustomerTag,
    Member,
    Role,
    Tag,
    TagDimension,
    WorkspaceKind,
)
from bot.crm.models.core import Segment, ValueTier
from bot.crm.store import unit_of_work
from bot.errors import InvalidInput

NOW = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)  # already the 24th in Shanghai
COLUMNS = columns_for(WorkspaceKind.TRADE)


async def add_member(session: AsyncSession, workspace_id: int, tg: int, role: Role) -> Member:
    """Add a member of ``role`` to a workspace."""
    member = Member(
        workspace_id=workspace_id,
        tg_user_id=tg,
        chat_id=tg,
        role=role,
        display_name=f"{role.value} {tg}",
        referral_code=f"ref{tg}",
    )
    session.add(member)
    await session.flush()
    return member


async def seed(session: AsyncSession) -> dict[str, Member]:
    """Create two shops: one with an owner, an admin, two reps and customers; one rival."""
    shop = await workspaces.create_workspace(
        session,
        name="Tea",
        timezone="Asia/Shanghai",
        locale="en",
        region="CN",
        kind=WorkspaceKind.TRADE,
    )
    rival = await workspaces.create_workspace(
        session, name="Rival", timezone="UTC", locale="en", region="CN"
    )
    people = {
        "admin": await add_member(session, shop.id, 1, Role.ADMIN),
        "li": await add_member(session, shop.id, 2, Role.STAFF),
        "zhou": await add_member(session, shop.id, 3, Role.STAFF),
        "rival": await add_member(session, rival.id, 4, Role.OWNER),
    }
    company = Company(workspace_id=shop.id, name="=Tea Co")
    vip = Tag(workspace_id=shop.id, name="vip", dimension=TagDimension.SOCIAL, weight=10)
    session.add_all([company, vip])
    await session.flush()
    rows = [
        ("张三", "+8613800138001", people["li"].id, "won", "A", "east"),
        ("Li Two", "+8613800138002", people["li"].id, "new", "B", "west"),
        ("Zhou One", "+8613800138003", people["zhou"].id, "won", "A", "east"),
        ("Pool", None, None, "new", None, None),
    ]
    for name, phone, owner, stage, grade, region in rows:
        session.add(
            Customer(
                workspace_id=shop.id,
                name=name,
                phone=phone,
                owner_member_id=owner,
                stage=stage,
                grade=grade,
                region=region,
                company_id=company.id if owner == people["li"].id else None,
                created_at=NOW,
            )
        )
    session.add(Customer(workspace_id=rival.id, name="Rival's", phone="+8613800138001"))
    await session.flush()
    first = await session.scalar(select(Customer).where(Customer.name == "张三"))
    zhou = await session.scalar(select(Customer).where(Customer.name == "Zhou One"))
    assert first is not None and zhou is not None
    session.add(CustomerTag(workspace_id=shop.id, customer_id=first.id, tag_id=vip.id))
    session.add(
        CustomerShare(workspace_id=shop.id, customer_id=zhou.id, member_id=people["li"].id)
    )
    await session.flush()
    return people


def csv_rows(content: bytes) -> list[dict[str, str]]:
    """Return the rows of an exported CSV as dicts, checking the UTF-8 BOM."""
    assert content.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


async def test_staff_export_own_and_shared_only(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        people = await seed(session)
        file = await export.export_customers(
            session, actor=people["li"], fmt=Format.CSV, filters=ExportFilter(), now=NOW
        )
    rows = csv_rows(file.content)
    assert file.rows == 3
    assert file.filename == "customers-2026-11-24.csv"
    assert [r["name"] for r in rows] == ["张三", "Li Two", "Zhou One"]
    assert list(rows[0]) == list(COLUMNS)
    first = rows[0]
    assert first["tags"] == "vip"
    assert first["company"] == "'=Tea Co"  # quoted so a spreadsheet never runs it
    assert first["owner"] == "staff 2"
    assert first["created"] == "2026-11-24"
    assert first["consent"] == "unknown"
    assert first["kind"] == "lead"
    async with sessions() as session:
        entry = await session.scalar(select(AuditLog).where(AuditLog.action == "customer.export"))
    assert entry is not None
    assert entry.details == {"format": "csv", "filter": {}, "rows": 3}


async def test_admin_export_whole_workspace_as_xlsx(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        people = await seed(session)
        file = await export.export_customers(
            session, actor=people["admin"], fmt=Format.XLSX, filters=ExportFilter(), now=NOW
        )
    sheet = load_workbook(io.BytesIO(file.content), read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == COLUMNS
    assert sorted(r[1] for r in rows[1:]) == sorted(["张三", "Li Two", "Zhou One", "Pool"])
    assert rows[1][3] == "=Tea Co"  # stored as text, not as a formula
    assert file.rows == 4


async def test_rival_owner_sees_only_their_shop(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        people = await seed(session)
        file = await export.export_customers(
            session, actor=people["rival"], fmt=Format.CSV, filters=ExportFilter(), now=NOW
        )
    assert [r["name"] for r in csv_rows(file.content)] == ["Rival's"]


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("stage=won", ["张三", "Zhou One"]),
        ("stage=won grade=a region=east", ["张三", "Zhou One"]),
        ("tag=vip", ["张三"]),
        ("owner=none", ["Pool"]),
        ("region=west", ["Li Two"]),
    ],
)
async def test_filters(
    sessions: async_sessionmaker[AsyncSession], text: str, names: list[str]
) -> None:
    async with unit_of_work(sessions) as session:
        people = await seed(session)
        file = await export.export_customers(
            session,
            actor=people["admin"],
            fmt=Format.CSV,
            filters=parse_filter(text),
            now=NOW,
        )
    assert [r["name"] for r in csv_rows(file.content)] == names


async def test_owner_filter_by_member_id(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with unit_of_work(sessions) as session:
        people = await seed(session)
        mine = await export.export_customers(
            session,
            actor=people["admin"],
            fmt=Format.CSV,
            filters=ExportFilter(owner=people["zhou"].id),
            now=NOW,
        )
    assert [r["name"] for r in csv_rows(mine.content)] == ["Zhou One"]


@pytest.mark.parametrize(
    "text", ["colour=red", "stage", "owner=li", "stage=", "tier=gold", "segment=vip"]
)
def test_bad_filters_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_filter(text)


async def add_tiers(session: AsyncSession) -> None:
    """Give 张三 and Zhou One computed value tiers; the others have none yet."""
    first = await session.scalar(select(Customer).where(Customer.name == "张三"))
    zhou = await session.scalar(select(Customer).where(Customer.name == "Zhou One"))
    assert first is not None and zhou is not None
    first.value_tier, first.rfm_segment, first.clv_minor = ValueTier.HIGH, Segment.LOYAL, 128050
    zhou.value_tier, zhou.rfm_segment, zhou.clv_minor = ValueTier.LOW, Segment.AT_RISK, 900
    await session.flush()


async def test_value_tier_segment_and_clv_columns(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        people = await seed(session)
        await add_tiers(session)
        text = await export.export_customers(
            session, actor=people["admin"], fmt=Format.CSV, filters=ExportFilter(), now=NOW
        )
        book = await export.export_customers(
            session, actor=people["admin"], fmt=Format.XLSX, filters=ExportFilter(), now=NOW
        )
    rows = {r["name"]: r for r in csv_rows(text.content)}
    assert [rows["张三"][k] for k in ("value_tier", "segment", "clv")] == [
        "high",
        "loyal",
        "1280.50",
    ]
    assert [rows["Zhou One"][k] for k in ("value_tier", "segment", "clv")] == [
        "low",
        "slipping",
        "9.00",
    ]
    assert [rows["Pool"][k] for k in ("value_tier", "segment", "clv")] == ["", "", ""]
    sheet = load_workbook(io.BytesIO(book.content), read_only=True).worksheets[0]
    width = len(COLUMNS)  # a row's trailing empty cells are not stored
    cells = {
        r[1]: (*r, *[None] * (width - len(r)))[-3:] for r in sheet.iter_rows(values_only=True)
    }
    assert cells["张三"] == ("high", "loyal", 1280.5)
    assert cells["Pool"] == (None, None, None)


async def test_tier_and_segment_filters(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with unit_of_work(sessions) as session:
        people = await seed(session)
        await add_tiers(session)
        high = await export.export_customers(
            session,
            actor=people["admin"],
            fmt=Format.CSV,
            filters=parse_filter("tier=HIGH"),
            now=NOW,
        )
        risk = await export.export_customers(
            session,
            actor=people["li"],
            fmt=Format.CSV,
            filters=parse_filter("segment=slipping"),
            now=NOW,
        )
        entry = await session.scalar(
            select(AuditLog)
            .where(AuditLog.action == "customer.export")
            .order_by(AuditLog.id.desc())
            .limit(1)
        )
    assert [r["name"] for r in csv_rows(high.content)] == ["张三"]
    assert [r["name"] for r in csv_rows(risk.content)] == ["Zhou One"]  # shared with Li
    assert entry is not None
    assert entry.details["filter"] == {"segment": "at_risk"}
