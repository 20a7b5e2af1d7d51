"""Removing people from a shop, leaving it, joining again, and team scope that holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crm import export, invites, members, reminders, removal, teams
from bot.crm.export_filter import ExportFilter
from bot.crm.models import (
    AuditLog,
    Complaint,
    Customer,
    CustomerShare,
    Reminder,
    Role,
)
from bot.crm.scope import get_visible
from bot.crm.store import unit_of_work
from bot.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from tests.factories import add_customer, make_shop

pytestmark = pytest.mark.timeout(60)

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
TTL = timedelta(hours=72)


async def test_removing_a_rep_sends_customers_to_the_pool_and_cancels_reminders(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        zhao = await add_customer(session, shop, "Zhao", shop.li)
        sun = await add_customer(session, shop, "Sun", shop.li)
        await reminders.create_reminder(
            session,
            actor=shop.li,
            customer_id=zhao.id,
            text="call",
            due_at=NOW + timedelta(days=1),
            now=NOW,
        )
        assert await removal.check_removable(session, actor=shop.owner, member=shop.li) == 2

        done = await removal.remove_member(
            session, actor=shop.owner, member=shop.li, target=None, now=NOW
        )

        assert (done.customers, done.reminders_moved, done.reminders_cancelled) == (2, 0, 1)
        for customer in (zhao, sun):
            await session.refresh(customer)
            assert customer.owner_member_id is None
        assert (await session.scalars(select(Reminder.done_at))).all() == [NOW]
        assert not shop.li.active
        assert shop.li.removed_at == NOW
        assert await members.active_member(session, tg_user_id=shop.li.tg_user_id) is None
        assert await members.former_shop(session, tg_user_id=shop.li.tg_user_id) == "Tea"
        entry = await session.scalar(select(AuditLog).where(AuditLog.action == "member.remove"))
        assert entry is not None
        assert (entry.actor_member_id, entry.entity_id) == (shop.owner.id, shop.li.id)
        assert entry.details["customers"] == 2
        with pytest.raises(PermissionDenied):
            await reminders.create_reminder(
                session,
                actor=shop.li,
                customer_id=None,
                text="x",
                due_at=NOW + timedelta(days=1),
                now=NOW,
            )
        with pytest.raises(Conflict, match="no longer a member"):
            await removal.remove_member(
                session, actor=shop.owner, member=shop.li, target=None, now=NOW
            )
        gone = await teams.list_members(session, actor=shop.owner, removed=True)
        assert [m.display_name for m, _ in gone] == ["Li"]
        still = await teams.list_members(session, actor=shop.owner)
        assert "Li" not in [m.display_name for m, _ in still]


async def test_removing_a_rep_hands_customers_reminders_and_complaints_to_a_colleague(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        zhao = await add_customer(session, shop, "Zhao", shop.li)
        other = await add_customer(session, shop, "Qian", shop.chen)
        about_zhao = await reminders.create_reminder(
            session,
            actor=shop.li,
            customer_id=zhao.id,
            text="call",
            due_at=NOW + timedelta(hours=1),
            now=NOW,
        )
        about_zhao.fired_at = NOW
        personal = await reminders.create_reminder(
            session,
            actor=shop.li,
            customer_id=None,
            text="order cups",
            due_at=NOW + timedelta(hours=2),
            now=NOW,
        )
        complaint = Complaint(
            workspace_id=shop.workspace.id,
            customer_id=zhao.id,
            assigned_member_id=shop.li.id,
            due_at=NOW + timedelta(days=2),
        )
        session.add(complaint)
        await teams.share_customer(session, actor=shop.owner, customer_id=other.id, member=shop.li)

        with pytest.raises(InvalidInput):
            await removal.remove_member(
                session, actor=shop.owner, member=shop.li, target=shop.li, now=NOW
            )
        done = await removal.remove_member(
            session, actor=shop.owner, member=shop.li, target=shop.chen, now=NOW
        )

        assert (done.customers, done.reminders_moved, done.reminders_cancelled) == (1, 1, 1)
        await session.refresh(zhao)
        await session.refresh(about_zhao)
        await session.refresh(personal)
        await session.refresh(complaint)
        assert zhao.owner_member_id == shop.chen.id
        assert (about_zhao.member_id, about_zhao.fired_at, about_zhao.done_at) == (
            shop.chen.id,
            None,
            None,
        )
        assert personal.done_at == NOW
        assert complaint.assigned_member_id == shop.chen.id
        assert (await session.scalars(select(CustomerShare))).all() == []
        assert await get_visible(session, actor=shop.chen, customer_id=zhao.id) is zhao


async def test_who_may_remove_whom(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        other = await make_shop(session, "Porcelain")
        with pytest.raises(InvalidInput, match="send /leave"):
            await removal.check_removable(session, actor=shop.admin, member=shop.admin)
        second_admin = shop.chen
        second_admin.role = Role.ADMIN
        with pytest.raises(PermissionDenied, match="Only the owner can remove an admin"):
            await removal.check_removable(session, actor=shop.admin, member=second_admin)
        with pytest.raises(PermissionDenied, match="owner can't be removed"):
            await removal.check_removable(session, actor=shop.admin, member=shop.owner)
        with pytest.raises(PermissionDenied, match="owner can't be removed"):
            await removal.check_removable(session, actor=shop.owner, member=shop.owner)
        with pytest.raises(PermissionDenied):
            await removal.check_removable(session, actor=shop.li, member=shop.chen)
        with pytest.raises(NotFound):
            await removal.check_removable(session, actor=shop.owner, member=other.li)
        assert await removal.check_removable(session, actor=shop.owner, member=second_admin) == 0
        assert await removal.check_removable(session, actor=shop.admin, member=shop.li) == 0

        # A team-limited admin reaches only their own team, for the member and the heir.
        north = await teams.create_team(session, actor=shop.owner, name="North")
        await teams.add_to_team(session, actor=shop.owner, team=north, member=shop.admin)
        with pytest.raises(PermissionDenied, match="isn't on your team"):
            await removal.check_removable(session, actor=shop.admin, member=shop.li)
        await teams.add_to_team(session, actor=shop.owner, team=north, member=shop.li)
        await add_customer(session, shop, "Zhao", shop.li)
        with pytest.raises(PermissionDenied, match="isn't on your team"):
            await removal.remove_member(
                session, actor=shop.admin, member=shop.li, target=shop.owner, now=NOW
            )
        done = await removal.remove_member(
            session, actor=shop.admin, member=shop.li, target=shop.admin, now=NOW
        )
        assert done.customers == 1


async def test_leaving_and_the_owner_who_cannot(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        await add_customer(session, shop, "Zhao", shop.admin)
        issued = await invites.issue_invite(
            session,
            workspace_id=shop.workspace.id,
            role=Role.STAFF,
            now=NOW,
            ttl=TTL,
            actor=shop.admin,
        )
        with pytest.raises(InvalidInput, match="can't leave"):
            await removal.leave_shop(session, actor=shop.owner, now=NOW)
        assert await removal.count_owned(session, actor=shop.admin) == 1

        done = await removal.leave_shop(session, actor=shop.admin, now=NOW)

        assert (done.customers, done.invites_withdrawn, done.target) == (1, 1, None)
        assert not shop.admin.active
        await session.refresh(issued.invite)
        assert issued.invite.revoked_at == NOW
        with pytest.raises(Conflict, match="withdrawn"):
            await members.join_with_invite(
                session,
                code=issued.code,
                tg_user_id=555,
                chat_id=555,
                display_name="New",
                now=NOW,
            )
        entry = await session.scalar(select(AuditLog).where(AuditLog.action == "member.leave"))
        assert entry is not None and entry.entity_id == shop.admin.id
        owned = await session.scalars(select(Customer.owner_member_id))
        assert owned.all() == [None]


async def test_a_removed_member_may_join_another_shop_or_come_back(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        other = await make_shop(session, "Porcelain")
        there = await invites.issue_invite(
            session, workspace_id=other.workspace.id, role=Role.STAFF, now=NOW, ttl=TTL, actor=None
        )
        with pytest.raises(Conflict, match="One Telegram account can belong to one shop"):
            await members.join_with_invite(
                session,
                code=there.code,
                tg_user_id=shop.li.tg_user_id,
                chat_id=shop.li.chat_id,
                display_name="Li",
                now=NOW,
            )
        await removal.remove_member(
            session, actor=shop.owner, member=shop.li, target=None, now=NOW
        )
        joined = await members.join_with_invite(
            session,
            code=there.code,
            tg_user_id=shop.li.tg_user_id,
            chat_id=shop.li.chat_id,
            display_name="Li",
            now=NOW,
        )
        assert joined.workspace_id == other.workspace.id
        assert await members.active_member(session, tg_user_id=shop.li.tg_user_id) is joined
        assert await members.former_shop(session, tg_user_id=shop.li.tg_user_id) == "Tea"

        # Leaving the second shop, the same account may come back to the first one.
        await removal.leave_shop(session, actor=joined, now=NOW + timedelta(hours=1))
        back = await invites.issue_invite(
            session, workspace_id=shop.workspace.id, role=Role.STAFF, now=NOW, ttl=TTL, actor=None
        )
        again = await members.join_with_invite(
            session,
            code=back.code,
            tg_user_id=shop.li.tg_user_id,
            chat_id=shop.li.chat_id,
            display_name="Li",
            now=NOW + timedelta(hours=2),
        )
        assert again is shop.li
        assert (again.active, again.removed_at) == (True, None)


async def test_a_team_limited_admin_cannot_widen_their_scope(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        north = await teams.create_team(session, actor=shop.owner, name="North")
        await teams.add_to_team(session, actor=shop.owner, team=north, member=shop.admin)
        await teams.add_to_team(session, actor=shop.owner, team=north, member=shop.li)
        mine = await add_customer(session, shop, "Zhao", shop.li)
        outside = await add_customer(session, shop, "Qian", shop.chen)

        with pytest.raises(PermissionDenied, match="isn.t on your team, and only the owner"):
            await teams.add_to_team(session, actor=shop.admin, team=north, member=shop.chen)

        assert shop.chen.team_id is None
        with pytest.raises(NotFound):
            await get_visible(session, actor=shop.admin, customer_id=outside.id)
        assert await get_visible(session, actor=shop.admin, customer_id=mine.id) is mine
        sheet = await export.export_customers(
            session,
            actor=shop.admin,
            fmt=export.Format.CSV,
            filters=ExportFilter(),
            now=NOW,
        )
        assert b"Zhao" in sheet.content and b"Qian" not in sheet.content
        listed = await teams.list_members(session, actor=shop.admin)
        assert [m.display_name for m, _ in listed] == ["Zhou", "Li"]

        # Their own invites bring newcomers into their team instead.
        issued = await invites.issue_invite(
            session,
            workspace_id=shop.workspace.id,
            role=Role.STAFF,
            now=NOW,
            ttl=TTL,
            actor=shop.admin,
        )
        newcomer = await members.join_with_invite(
            session, code=issued.code, tg_user_id=777, chat_id=777, display_name="Sun", now=NOW
        )
        assert newcomer.team_id == north.id


async def test_find_member_by_username(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        members.note_username(shop.chen, "chen_sales")
        assert await teams.find_member(session, actor=shop.owner, ref="@Chen_Sales") is shop.chen
        assert await teams.find_member(session, actor=shop.owner, ref="@li") is shop.li
        assert await teams.find_member(session, actor=shop.owner, ref=f"#{shop.li.id}") is shop.li
