"""Scope: one rule for whose customers and colleagues a member sees, used by every service."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crm import at_risk, followups, leads
from bot.crm.models import Customer, CustomerShare, Member, Team
from bot.crm.scope import members_within_reach, seen_by
from bot.crm.store import unit_of_work
from bot.errors import PermissionDenied
from tests.factories import NOW, Shop, add_customer, make_shop

SINCE = datetime(2026, 11, 1, tzinfo=UTC)


async def team_shop(session: AsyncSession) -> tuple[Shop, dict[str, int]]:
    """Zhou is an admin limited to team North with Li; Chen is outside it and shares one."""
    shop = await make_shop(session)
    team = Team(workspace_id=shop.workspace.id, name="North")
    session.add(team)
    await session.flush()
    shop.admin.team_id = shop.li.team_id = team.id
    ids = {}
    for name, owner in (("li's", shop.li), ("chen's", shop.chen), ("pool", None)):
        customer = await add_customer(session, shop, name, owner, at_risk_since=SINCE)
        ids[name] = customer.id
    shared = await add_customer(session, shop, "shared", shop.li, at_risk_since=SINCE)
    ids["shared"] = shared.id
    session.add(
        CustomerShare(
            workspace_id=shop.workspace.id, customer_id=shared.id, member_id=shop.chen.id
        )
    )
    await session.flush()
    return shop, ids


async def seen(session: AsyncSession, actor: Member, ids: dict[str, int]) -> set[str]:
    query = select(Customer.id).where(
        Customer.workspace_id == actor.workspace_id, *seen_by(actor, Customer.id)
    )
    found = set(await session.scalars(query))
    return {name for name, cid in ids.items() if cid in found}


async def test_seen_by_follows_role_and_team(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with unit_of_work(sessions) as session:
        shop, ids = await team_shop(session)
        assert seen_by(shop.owner, Customer.id) == ()
        assert await seen(session, shop.owner, ids) == set(ids)
        assert await seen(session, shop.admin, ids) == {"li's", "pool", "shared"}
        assert await seen(session, shop.chen, ids) == {"chen's", "shared"}


async def test_members_within_reach_is_the_team_for_a_team_admin(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop, _ = await team_shop(session)
        for actor, expected in (
            (shop.owner, {"Wang", "Zhou", "Li", "Chen"}),
            (shop.admin, {"Zhou", "Li"}),
        ):
            names = await session.scalars(
                select(Member.display_name).where(members_within_reach(actor))
            )
            assert set(names) == expected


async def test_at_risk_lists_and_today_follow_the_same_scope(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop, _ = await team_shop(session)

        async def names(actor: Member, *, mine: bool = False) -> set[str]:
            items = await at_risk.load_items(
                session, at_risk.at_risk_of(actor, mine=mine), now=NOW
            )
            return {item.name for item in items}

        assert await names(shop.owner) == {"li's", "chen's", "pool", "shared"}
        assert await names(shop.admin) == {"li's", "pool", "shared"}
        assert await names(shop.admin, mine=True) == set()
        # Staff see the customers they own here, not those shared with them.
        assert await names(shop.chen) == {"chen's"}
        day = await followups.today(session, actor=shop.admin, now=NOW)
        assert [rep.member_name for rep in day.team] == ["Li"]


async def test_a_team_admin_assigns_only_within_the_team(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop, _ = await team_shop(session)
        leads.check_assignable(shop.admin, shop.li)
        leads.check_assignable(shop.owner, shop.chen)
        with pytest.raises(PermissionDenied):
            leads.check_assignable(shop.admin, shop.chen)
