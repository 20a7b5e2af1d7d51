"""Customer records: adding, duplicates, search, edits, the card and the own join link."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crm import cards, companies, customers, search
from bot.crm.models import (
    AuditLog,
    Channel,
    CustomerKind,
    CustomerTag,
    FollowUp,
    Purchase,
    Reminder,
    Tag,
    TagDimension,
    WorkspaceKind,
)
from bot.crm.store import unit_of_work
from bot.errors import Conflict, InvalidInput, NotFound
from bot.messaging import User
from tests.factories import add_customer, make_shop

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


async def test_create_customer_is_an_owned_lead_with_its_own_link(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session, kind=WorkspaceKind.TRADE)
        company = await companies.resolve_path(session, actor=shop.li, path=["Wang Tea"])
        wang = await customers.create_customer(
            session,
            actor=shop.li,
            name="  Wang\u200b  Li ",
            phone="+8613800138000",
            now=NOW,
            company_id=company.id,
            classification={"ownership": "private", "region": " north ", "route_order": 2},
        )
        with pytest.raises(Conflict):
            await customers.create_customer(
                session, actor=shop.chen, name="Again", phone="+8613800138000", now=NOW
            )
        with pytest.raises(InvalidInput, match="Please send a name"):
            await customers.create_customer(
                session, actor=shop.li, name="/add", phone=None, now=NOW
            )
        with pytest.raises(InvalidInput, match="isn't on the list"):
            await customers.create_customer(
                session,
                actor=shop.li,
                name="Zhao",
                phone=None,
                now=NOW,
                classification={"business_type": "pirate"},
            )
        entry = await session.scalar(select(AuditLog).where(AuditLog.action == "customer.create"))
    assert (wang.name, wang.kind, wang.stage, wang.source) == (
        "Wang Li",
        CustomerKind.LEAD,
        "new",
        "staff",
    )
    assert wang.owner_member_id == shop.li.id and wang.owner_assigned_at == NOW
    assert (wang.ownership, wang.region, wang.route_order) == ("private", "north", 2)
    assert wang.join_token and 8 <= len(wang.join_token) <= 24
    assert entry is not None and entry.entity_id == wang.id
    assert entry.details == {
        "fields": ["company_id", "name", "ownership", "phone", "region", "route_order"]
    }


async def test_find_existing_hides_records_outside_scope(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        other = await make_shop(session, "Other")
        wang = await add_customer(session, shop, "Wang", shop.li, phone="+8613800138000")
        linked = await add_customer(session, shop, "Zhao", shop.li, tg_user_id=77)
        mine = await customers.find_existing(session, actor=shop.li, phone="+8613800138000")
        theirs = await customers.find_existing(session, actor=shop.chen, phone="+8613800138000")
        by_account = await customers.find_existing(
            session, actor=shop.li, phone=None, tg_user_id=77
        )
        elsewhere = await customers.find_existing(session, actor=other.li, phone="+8613800138000")
    assert mine is not None and mine.customer is wang
    assert theirs is not None and theirs.customer_id == wang.id and theirs.customer is None
    assert by_account is not None and by_account.customer is linked
    assert elsewhere is None


async def test_find_customers_by_name_phone_company_and_tag_in_scope(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        tea = await companies.resolve_path(session, actor=shop.li, path=["Tea Co"])
        wang = await add_customer(
            session, shop, "Wang Li", shop.li, phone="+8613800138000", company_id=tea.id
        )
        wanda = await add_customer(session, shop, "Wanda_50%", shop.li, phone="+8613900139001")
        await add_customer(session, shop, "Wang Chen", shop.chen, phone="+8613700137000")
        tag = Tag(workspace_id=shop.workspace.id, name="oolong", dimension=TagDimension.INTEREST)
        session.add(tag)
        await session.flush()
        session.add(
            CustomerTag(workspace_id=shop.workspace.id, customer_id=wanda.id, tag_id=tag.id)
        )
        await session.flush()

        async def find(text: str, actor: object = shop.li) -> list[str]:
            found = await search.find_customers(session, actor=actor, text=text)  # type: ignore[arg-type]
            return [c.name for c in found]

        assert await find("Wan") == ["Wanda_50%", "Wang Li"]
        assert await find("wang li") == ["Wang Li"]
        assert await find("li") == ["Wang Li"]
        assert await find("_50%") == ["Wanda_50%"]
        assert await find("a_5") == ["Wanda_50%"]
        assert await find("138 0013 8000") == ["Wang Li"]
        assert await find("+86 139") == ["Wanda_50%"]
        assert await find("1380013") == ["Wang Li"]
        assert await find("9001") == ["Wanda_50%"]
        assert await find("tea co") == ["Wang Li"]
        assert await find("OOLONG") == ["Wanda_50%"]
        assert await find("Chen") == []
        assert await find("137 0013 7000") == []
        assert await find("   ") == []
        assert await find("Wang", shop.owner) == ["Wang Chen", "Wang Li"]
        limited = await search.find_customers(session, actor=shop.owner, text="Wan", limit=1)
    assert [c.id for c in limited] == [wanda.id]
    assert wang.id != wanda.id


async def test_update_customer_checks_scope_and_duplicates(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        wang = await add_customer(session, shop, "Wang", shop.li, phone="+8613800138000")
        await add_customer(session, shop, "Zhao", shop.li, phone="+8613900139000")
        qian = await add_customer(session, shop, "Qian", shop.chen)
        await customers.update_customer(
            session,
            actor=shop.li,
            customer_id=wang.id,
            changes={"name": "Wang Li", "notes": " likes oolong ", "phone": "+8613800138000"},
        )
        with pytest.raises(Conflict):
            await customers.update_customer(
                session, actor=shop.li, customer_id=wang.id, changes={"phone": "+8613900139000"}
            )
        with pytest.raises(NotFound):
            await customers.update_customer(
                session, actor=shop.li, customer_id=qian.id, changes={"name": "X"}
            )
        with pytest.raises(InvalidInput, match="from 1 to"):
            await customers.update_customer(
                session, actor=shop.li, customer_id=wang.id, changes={"route_order": 0}
            )
        entries = (
            await session.scalars(select(AuditLog).where(AuditLog.action == "customer.update"))
        ).all()
    assert (wang.name, wang.notes) == ("Wang Li", "likes oolong")
    assert [e.details for e in entries] == [{"fields": ["name", "notes"]}]


async def test_card_gathers_history(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        branch = await companies.resolve_path(session, actor=shop.li, path=["Wang Tea", "Pudong"])
        wang = await add_customer(session, shop, "Wang", shop.li, company_id=branch.id)
        ws = shop.workspace.id
        for days, amount in ((10, 12800), (3, 5050)):
            session.add(
                Purchase(
                    workspace_id=ws,
                    customer_id=wang.id,
                    amount_minor=amount,
                    currency="CNY",
                    at=NOW - timedelta(days=days),
                )
            )
        for hours in range(5):
            session.add(
                FollowUp(
                    workspace_id=ws,
                    customer_id=wang.id,
                    channel=Channel.CALL,
                    summary=f"call {hours}",
                    at=NOW - timedelta(hours=hours),
                )
            )
        for days, done in ((2, None), (1, NOW), (5, None)):
            session.add(
                Reminder(
                    workspace_id=ws,
                    member_id=shop.li.id,
                    customer_id=wang.id,
                    text=f"in {days} days",
                    due_at=NOW + timedelta(days=days),
                    done_at=done,
                )
            )
        await session.flush()
        card = await cards.card(session, actor=shop.li, customer_id=wang.id)
        with pytest.raises(NotFound):
            await cards.card(session, actor=shop.chen, customer_id=wang.id)
    assert [c.name for c in card.companies] == ["Wang Tea", "Pudong"]
    assert card.owner_name == "Li"
    assert [f.summary for f in card.follow_ups] == ["call 0", "call 1", "call 2"]
    assert card.next_reminder is not None and card.next_reminder.text == "in 2 days"
    assert (card.purchases, card.total_minor, card.repurchases) == (2, 17850, 1)
    assert card.last_purchase_at == NOW - timedelta(days=3)
    assert wang.join_token


async def test_link_by_token(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        wang = await customers.create_customer(
            session, actor=shop.li, name="Wang", phone=None, now=NOW
        )
        zhao = await customers.create_customer(
            session, actor=shop.li, name="Zhao", phone=None, now=NOW
        )
        token = wang.join_token or ""
        workspace, linked = await customers.link_by_token(
            session, token=token, user=User(501, "Wang"), chat_id=501, locale="zh-CN"
        )
        again = await customers.link_by_token(
            session, token=token, user=User(501, "Wang"), chat_id=502, locale="en"
        )
        with pytest.raises(Conflict, match="already used"):
            await customers.link_by_token(
                session, token=token, user=User(502, "Qian"), chat_id=502, locale="en"
            )
        with pytest.raises(Conflict, match="another record"):
            await customers.link_by_token(
                session, token=zhao.join_token or "", user=User(501), chat_id=501, locale="en"
            )
        with pytest.raises(NotFound):
            await customers.link_by_token(
                session, token="nope", user=User(503), chat_id=503, locale="en"
            )
    assert workspace.id == shop.workspace.id and linked is wang and again[1] is wang
    assert (wang.tg_user_id, wang.chat_id, wang.locale) == (501, 502, "zh-CN")
    assert zhao.tg_user_id is None
