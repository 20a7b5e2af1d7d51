"""Exports in the requester's language, and imports that read either language back."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

import pytest
from openpyxl import load_workbook  # type: ignore[import-untyped]
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crm import customers, export, fields, importer
from bot.crm.export import Format
from bot.crm.export_filter import ExportFilter
from bot.crm.models import Customer, CustomerKind, Tag, TagDimension, WorkspaceKind
from bot.crm.store import unit_of_work
from bot.views import export_words
from tests.factories import NOW, Shop, make_shop

KEPT = (
    "name",
    "phone",
    "stage",
    "kind",
    "grade",
    "score",
    "region",
    "route_order",
    "ownership",
    "business_type",
    "location_type",
    "gender",
    "age_band",
    "preferences",
    "birthday_date",
    "notes",
)


async def _seed(session: AsyncSession, kind: WorkspaceKind) -> Shop:
    """Create a shop of ``kind`` with two customers whose every field is filled in."""
    shop = await make_shop(session, kind=kind)
    session.add(Tag(workspace_id=shop.workspace.id, name="vip", dimension=TagDimension.SOCIAL))
    retail = kind is WorkspaceKind.RETAIL
    if retail:
        await fields.add_option(session, actor=shop.admin, field="preferences", label="Oolong")
    described: list[dict[str, Any]] = (
        [
            {"gender": "female", "age_band": "25_34", "preferences": ["oolong", "gift_sets"]},
            {"gender": "male", "age_band": "55_plus", "preferences": ["premium"]},
        ]
        if retail
        else [
            {"ownership": "joint_stock", "business_type": "chain", "region": "north"},
            {"ownership": "jv", "location_type": "transport_hub", "route_order": 3},
        ]
    )
    for number, (values, stage) in enumerate(zip(described, ("won", "qualified"), strict=True)):
        customer = await customers.create_customer(
            session,
            actor=shop.li,
            name=f"客户 {number}",
            phone=f"+861380013800{number}",
            now=NOW,
            classification=values,
        )
        customer.stage, customer.grade, customer.score = stage, "A", 80 + number
        customer.kind = CustomerKind.CUSTOMER if stage == "won" else CustomerKind.LEAD
        customer.birthday_date = date(1990, 5, 17 + number)
        customer.notes = f"Likes the {number}nd floor"
    await session.flush()
    return shop


async def _kept(session: AsyncSession, shop: Shop) -> list[tuple[Any, ...]]:
    rows = await session.scalars(
        select(Customer).where(Customer.workspace_id == shop.workspace.id).order_by(Customer.name)
    )
    return [tuple(getattr(c, column) for column in KEPT) for c in rows]


async def _export(session: AsyncSession, shop: Shop, locale: str, fmt: Format) -> bytes:
    listed = await fields.options(session, workspace_id=shop.workspace.id)
    said = export_words.words(locale, shop.workspace, listed)
    file = await export.export_customers(
        session, actor=shop.admin, fmt=fmt, filters=ExportFilter(), now=NOW, words=said
    )
    return file.content


def _table(content: bytes, fmt: Format) -> list[list[Any]]:
    if fmt is Format.CSV:
        return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    sheet = load_workbook(io.BytesIO(content), read_only=True).worksheets[0]
    return [["" if v is None else v for v in row] for row in sheet.iter_rows(values_only=True)]


async def test_a_chinese_export_speaks_chinese(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with unit_of_work(sessions) as session:
        shop = await _seed(session, WorkspaceKind.RETAIL)
        table = _table(await _export(session, shop, "zh-CN", Format.CSV), Format.CSV)
    header, first = table[0], dict(zip(table[0], table[1], strict=True))
    assert header[:9] == [
        "编号",
        "姓名",
        "电话",
        "公司",
        "阶段",
        "客户类型",
        "等级",
        "评分",
        "标签",
    ]
    assert header[9:14] == ["性别", "年龄段", "偏好", "生日", "备注"]
    assert (first["阶段"], first["客户类型"], first["性别"], first["年龄段"]) == (
        "已成交",
        "客户",
        "女",
        "25–34 岁",
    )
    assert first["偏好"] == "Oolong, 礼盒"
    assert first["消息订阅"] == "尚未询问"
    assert not any("_" in str(cell) for cell in table[1] if not str(cell).startswith("+"))


async def test_an_english_export_reads_like_the_card(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await _seed(session, WorkspaceKind.TRADE)
        table = _table(await _export(session, shop, "en", Format.XLSX), Format.XLSX)
    # A row's trailing empty cells are not stored.
    header, second = table[0], dict(zip(table[0], table[2], strict=False))
    assert header[:6] == ["No.", "Name", "Phone", "Company", "Stage", "Lead or customer"]
    assert "Ownership" in header and "Visiting order" in header and "Gender" not in header
    assert (second["Stage"], second["Lead or customer"], second["Ownership"]) == (
        "Qualified",
        "Lead",
        "Joint venture",
    )
    assert (second["Location"], second["Messages"]) == ("Transport hub", "not asked yet")


@pytest.mark.parametrize("kind", [WorkspaceKind.RETAIL, WorkspaceKind.TRADE])
@pytest.mark.parametrize("locale", ["en", "zh-CN"])
@pytest.mark.parametrize("fmt", [Format.CSV, Format.XLSX])
async def test_export_then_import_keeps_every_value(
    sessions: async_sessionmaker[AsyncSession], kind: WorkspaceKind, locale: str, fmt: Format
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await _seed(session, kind)
        before = await _kept(session, shop)
        content = await _export(session, shop, locale, fmt)
        await session.execute(delete(Customer).where(Customer.workspace_id == shop.workspace.id))
        listed = await fields.options(session, workspace_id=shop.workspace.id)
        # An English reader imports a Chinese file and the other way round.
        reader = "zh-CN" if locale == "en" else "en"
        said = export_words.every_language(reader, shop.workspace, listed)
        _, plan = await importer.check_file(
            session, actor=shop.admin, content=content, filename=f"c.{fmt}", words=said
        )
        assert plan.errors == []
        assert await importer.import_rows(session, actor=shop.admin, plan=plan, fmt=fmt) == 2
        assert await _kept(session, shop) == before


async def test_old_files_with_keys_still_import_and_errors_name_the_column(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    content = (
        "name,stage,kind,gender,age_band,preferences\n"
        'Ma Six,won,customer,female,35_44,"premium, events"\n'
        "Bad,sold,lead,robot,,\n"
    ).encode("utf-8-sig")
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        listed = await fields.options(session, workspace_id=shop.workspace.id)
        said = export_words.every_language("zh-CN", shop.workspace, listed)
        _, plan = await importer.check_file(
            session, actor=shop.admin, content=content, filename="old.csv", words=said
        )
    assert [(r["name"], r["stage"], r["gender"], r["preferences"]) for r in plan.rows] == [
        ("Ma Six", "won", "female", ["premium", "events"])
    ]
    assert [(e.line, e.params["column"], e.params["value"]) for e in plan.errors] == [
        (3, "阶段", "sold"),
        (3, "性别", "robot"),
    ]
    assert "女, 男" in str(plan.errors[1].params["choices"])
