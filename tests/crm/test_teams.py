"""Teams, finding members, sharing and reassigning customers on a real database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crm import teams
from bot.crm.models import AuditLog, Customer, Role
from bot.crm.scope import get_visible
from bot.crm.store import unit_of_work
from bot.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from tests.factories import add_customer, make_shop

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


async def test_find_member_by_id_and_name(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        other = await make_shop(session, "Porcelain")
        assert await teams.find_member(session, actor=shop.owner, ref="li") is shop.li
        assert (
            await teams.find_member(session, actor=shop.owner, ref=str(shop.chen.id)) is shop.chen
        )
        assert (
            await teams.find_member(session, actor=shop.owner, ref=f"m{shop.chen.id}") is shop.chen
        )
        with pytest.raises(NotFound):
            await teams.find_member(session, actor=shop.owner, ref=str(other.li.id))
        with pytest.raises(NotFound):
            await teams.find_member(session, actor=shop.owner, ref="Nobody")
        shop.chen.display_name = "Lin"
        with pytest.raises(InvalidInput, match="could be"):
            await teams.find_member(session, actor=shop.owner, ref="L")
        shop.chen.display_name = "Chen"
        shop.li.active = False
        with pytest.raises(NotFound):
            await teams.find_member(session, actor=shop.owner, ref="Li")
        found = await teams.find_member(session, actor=shop.owner, ref="Li", include_inactive=True)
        assert found is shop.li


async def test_teams_limit_an_admin(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        north = await teams.create_team(session, actor=shop.owner, name=" North ")
        with pytest.raises(Conflict):
            await teams.create_team(session, actor=shop.admin, name="north")
        with pytest.raises(PermissionDenied):
            await teams.create_team(session, actor=shop.li, name="South")
        assert await teams.find_team(session, actor=shop.owner, ref="nor") is north
        with pytest.raises(NotFound) as missing:
            await teams.find_team(session, actor=shop.owner, ref="south")
        assert missing.value.params["teams"] == "North"
        await teams.add_to_team(session, actor=shop.owner, team=north, member=shop.li)
        await teams.add_to_team(session, actor=shop.owner, team=north, member=shop.admin)
        with pytest.raises(InvalidInput):
            await teams.add_to_team(session, actor=shop.owner, team=north, member=shop.owner)
        mine = await add_customer(session, shop, "Zhao", shop.li)
        theirs = await add_customer(session, shop, "Qian", shop.chen)
        assert await get_visible(session, actor=shop.admin, customer_id=mine.id) is mine
        with pytest.raises(NotFound):
            await get_visible(session, actor=shop.admin, customer_id=theirs.id)
        south = await teams.create_team(session, actor=shop.owner, name="South")
        with pytest.raises(PermissionDenied):
            await teams.add_to_team(session, actor=shop.admin, team=south, member=shop.chen)
        listed = await teams.list_members(session, actor=shop.li)
        assert [(m.display_name, t) for m, t in listed] == [
            ("Wang", ""),
            ("Zhou", "North"),
            ("Li", "North"),
            ("Chen", ""),
        ]


async def test_share_and_reassign(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        zhao = await add_customer(session, shop, "Zhao", shop.li)
        await add_customer(session, shop, "Qian", shop.li)
        with pytest.raises(NotFound):
            await get_visible(session, actor=shop.chen, customer_id=zhao.id)
        with pytest.raises(PermissionDenied):
            await teams.share_customer(
                session, actor=shop.li, customer_id=zhao.id, member=shop.chen
            )
        await teams.share_customer(
            session, actor=shop.admin, customer_id=zhao.id, member=shop.chen
        )
        assert await get_visible(session, actor=shop.chen, customer_id=zhao.id) is zhao
        with pytest.raises(Conflict):
            await teams.share_customer(
                session, actor=shop.admin, customer_id=zhao.id, member=shop.chen
            )
        with pytest.raises(Conflict):
            await teams.share_customer(
                session, actor=shop.admin, customer_id=zhao.id, member=shop.li
            )

        assert await teams.count_owned(session, actor=shop.owner, member=shop.li) == 2
        shop.li.active = False
        with pytest.raises(InvalidInput):
            await teams.reassign_all(
                session, actor=shop.owner, source=shop.li, target=shop.li, now=NOW
            )
        with pytest.raises(PermissionDenied):
            await teams.reassign_all(
                session, actor=shop.owner, source=shop.chen, target=shop.li, now=NOW
            )
        moved = await teams.reassign_all(
            session, actor=shop.owner, source=shop.li, target=shop.chen, now=NOW
        )
        assert moved == 2
        rows = await session.execute(select(Customer.owner_member_id, Customer.owner_assigned_at))
        assert rows.all() == [(shop.chen.id, NOW), (shop.chen.id, NOW)]
        audit = await session.scalars(
            select(AuditLog.details).where(AuditLog.action == "customer.reassign_all")
        )
        assert [d["count"] for d in audit] == [2]
        assert shop.owner.role is Role.OWNER
