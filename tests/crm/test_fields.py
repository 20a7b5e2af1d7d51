"""Shop fields: presets by kind, admins' list edits, checks on customers, and migration 0010."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crm import customers, fields, migrate
from bot.crm.birthdays import parse_birthday
from bot.crm.models import AuditLog, Customer, FieldOption, WorkspaceKind
from bot.crm.store import create_engine, unit_of_work
from bot.errors import InvalidInput, PermissionDenied
from tests.factories import NOW, make_shop


async def _keys(session: AsyncSession, workspace_id: int, field: str) -> list[str]:
    return [o.key for o in await fields.options(session, workspace_id=workspace_id, field=field)]


async def test_each_kind_gets_its_preset(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        trade = await make_shop(session, "Wholesale", kind=WorkspaceKind.TRADE)
        assert shop.workspace.kind is WorkspaceKind.RETAIL
        assert await _keys(session, shop.workspace.id, "gender") == ["female", "male"]
        assert await _keys(session, shop.workspace.id, "ownership") == []
        assert await _keys(session, trade.workspace.id, "gender") == []
        assert await _keys(session, trade.workspace.id, "location_type") == [
            "business_district",
            "transport_hub",
            "residential",
            "other",
        ]


def test_options_are_typed_as_key_label_or_shown_name() -> None:
    listed = [
        FieldOption(field="ownership", key="joint_stock", position=1),
        FieldOption(field="ownership", key="tea_co", label="Tea co-op", position=2),
    ]
    assert fields.parse_option(listed, "joint_stock") == "joint_stock"
    assert fields.parse_option(listed, " Joint-stock ") == "joint_stock"
    assert fields.parse_option(listed, "TEA CO-OP") == "tea_co"
    assert fields.parse_option(listed, "股份制", names={"股份制": "joint_stock"}) == "joint_stock"
    with pytest.raises(InvalidInput, match="Please tap one of the buttons"):
        fields.parse_option(listed, "feudal")


async def test_admins_add_rename_move_and_remove(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        ws = shop.workspace.id
        with pytest.raises(PermissionDenied):
            await fields.add_option(session, actor=shop.li, field="preferences", label="Oolong")
        oolong = await fields.add_option(
            session, actor=shop.admin, field="preferences", label="  Oolong "
        )
        puer = await fields.add_option(
            session, actor=shop.owner, field="preferences", label="普洱"
        )
        assert (oolong.key, oolong.label, puer.key) == ("oolong", "Oolong", "pu_er")
        with pytest.raises(InvalidInput, match="already on the list"):
            await fields.add_option(session, actor=shop.admin, field="preferences", label="OOLONG")
        with pytest.raises(InvalidInput, match="already on the list"):
            await fields.add_option(session, actor=shop.admin, field="gender", label="female")
        with pytest.raises(InvalidInput, match="hidden control character"):
            await fields.add_option(session, actor=shop.admin, field="gender", label="x\x1b")

        await fields.move_option(session, actor=shop.admin, option_id=puer.id, offset=-1)
        await fields.move_option(session, actor=shop.admin, option_id=oolong.id, offset=99)
        keys = await _keys(session, ws, "preferences")
        assert keys[-2:] == ["pu_er", "oolong"]

        zhao = await customers.create_customer(
            session,
            actor=shop.li,
            name="Zhao",
            phone=None,
            now=NOW,
            classification={"gender": "male", "preferences": ["oolong", "premium", "oolong"]},
        )
        assert zhao.preferences == ["oolong", "premium"]
        with pytest.raises(InvalidInput, match="isn't on the list"):
            await customers.update_customer(
                session, actor=shop.li, customer_id=zhao.id, changes={"ownership": "private"}
            )
        renamed = await fields.rename_option(
            session, actor=shop.admin, option_id=oolong.id, label="Tieguanyin"
        )
        assert (renamed.key, renamed.label) == ("oolong", "Tieguanyin")
        assert await fields.using(session, option=oolong) == 1
        assert await fields.remove_option(session, actor=shop.admin, option_id=oolong.id) == 1
        assert zhao.preferences == ["premium"]
        assert "oolong" not in await _keys(session, ws, "preferences")
        actions = await session.scalars(
            select(AuditLog.action).where(AuditLog.entity == "field_option")
        )
        assert list(actions) == [
            "field_option.add",
            "field_option.add",
            "field_option.move",
            "field_option.move",
            "field_option.rename",
            "field_option.remove",
        ]


def test_birthdays_as_people_type_them() -> None:
    today = date(2026, 12, 4)
    assert parse_birthday("1990-05-17", today=today) == date(1990, 5, 17)
    assert parse_birthday("1990/5/7", today=today) == date(1990, 5, 7)
    assert parse_birthday("17.05.1990", today=today) == date(1990, 5, 17)
    assert parse_birthday("1990年5月17日", today=today) == date(1990, 5, 17)
    for bad in ("1990-02-30", "2027-01-01", "1890-01-01", "May 17", ""):
        with pytest.raises(InvalidInput, match="year-month-day"):
            parse_birthday(bad, today=today)


async def test_migration_0010_makes_existing_shops_trade_and_keeps_their_lists(
    empty_db_url: str,
) -> None:
    await migrate.upgrade_async(empty_db_url, "0009")
    engine = create_engine(empty_db_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO workspace (name, slug, timezone, locale, currency,"
                    " lead_return_days, grade_thresholds, stage_labels, quiet_start, quiet_end,"
                    " campaign_cap_messages, campaign_cap_days, points_per_unit,"
                    " complaint_sla_hours, created_at) VALUES ('Old', 'old', 'UTC', 'en',"
                    " 'CNY', 14, '{}', '{}', '21:00', '09:00', 2, 7, 1, 48,"
                    " '2026-11-01 00:00:00')"
                )
            )
        await migrate.upgrade_async(empty_db_url)
        async with engine.connect() as conn:
            kind = (await conn.execute(text("SELECT kind FROM workspace"))).scalar()
            rows = await conn.execute(
                text("SELECT field, count(*) FROM field_option GROUP BY field ORDER BY field")
            )
            assert kind == "trade"
            assert rows.all() == [("business_type", 6), ("location_type", 4), ("ownership", 5)]
    finally:
        await engine.dispose()


async def test_customer_rows_only_take_the_shops_own_keys(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session, kind=WorkspaceKind.TRADE)
        other = await make_shop(session, "Other")
        await fields.add_option(session, actor=other.admin, field="gender", label="Nonbinary")
        customer = await customers.create_customer(
            session,
            actor=shop.li,
            name="Wu",
            phone=None,
            now=NOW,
            classification={"ownership": "private"},
        )
        with pytest.raises(InvalidInput, match="isn't on the list"):
            await customers.update_customer(
                session, actor=shop.li, customer_id=customer.id, changes={"gender": "nonbinary"}
            )
        stored = await session.get(Customer, customer.id)
        assert stored is not None and stored.gender is None
