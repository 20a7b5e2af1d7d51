"""Complaints on a real database: assignment, due times, scope, take, resolve, SLA, reminders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crm import complaints
from bot.crm.models import AuditLog, ComplaintStatus, Team
from bot.crm.store import unit_of_work
from bot.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from tests.factories import Shop, add_customer, make_shop

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


async def _open(session: AsyncSession, shop: Shop, customer_id: int) -> complaints.Opened:
    return await complaints.open_complaint(
        session,
        workspace_id=shop.workspace.id,
        customer_id=customer_id,
        text="  The tea was stale  ",
        photo_file_id="photo-1",
        source="customer",
        now=NOW,
    )


async def test_open_assigns_the_owner_rep_with_the_sla(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        shop.workspace.complaint_sla_hours = 24
        zhao = await add_customer(session, shop, "Zhao", shop.li)
        opened = await _open(session, shop, zhao.id)
        assert opened.assignee is shop.li
        assert opened.complaint.assigned_member_id == shop.li.id
        assert opened.complaint.status is ComplaintStatus.OPEN
        assert opened.complaint.text == "The tea was stale"
        assert opened.complaint.due_at == NOW + timedelta(hours=24)


async def test_open_falls_back_to_the_owner_then_an_admin(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        unowned = await add_customer(session, shop, "Qian", None)
        assert (await _open(session, shop, unowned.id)).assignee is shop.owner
        shop.li.active = False
        left = await add_customer(session, shop, "Sun", shop.li)
        assert (await _open(session, shop, left.id)).assignee is shop.owner
        shop.owner.active = False
        assert (await _open(session, shop, left.id)).assignee is shop.admin


async def test_open_refuses_a_customer_of_another_shop(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        other = await make_shop(session, "Other")
        stranger = await add_customer(session, other, "Li Si", other.li)
        with pytest.raises(NotFound):
            await _open(session, shop, stranger.id)


async def test_staff_see_theirs_and_managers_see_all(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        mine = await _open(session, shop, (await add_customer(session, shop, "A", shop.li)).id)
        theirs = await _open(session, shop, (await add_customer(session, shop, "B", shop.chen)).id)
        listed = await complaints.list_for(session, actor=shop.li)
        assert [c.id for c, _ in listed] == [mine.complaint.id]
        assert len(await complaints.list_for(session, actor=shop.admin)) == 2
        with pytest.raises(NotFound):
            await complaints.get_for(session, actor=shop.li, complaint_id=theirs.complaint.id)
        other = await make_shop(session, "Other")
        with pytest.raises(NotFound):
            await complaints.get_for(session, actor=other.owner, complaint_id=mine.complaint.id)


async def test_take_and_resolve(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        opened = await _open(session, shop, (await add_customer(session, shop, "A", shop.li)).id)
        cid = opened.complaint.id
        taken, _ = await complaints.take(session, actor=shop.admin, complaint_id=cid, now=NOW)
        assert (taken.status, taken.assigned_member_id) == (
            ComplaintStatus.IN_PROGRESS,
            shop.admin.id,
        )
        with pytest.raises(InvalidInput):
            await complaints.resolve(
                session, actor=shop.admin, complaint_id=cid, resolution="  ", now=NOW
            )
        done, customer = await complaints.resolve(
            session, actor=shop.admin, complaint_id=cid, resolution="Sent a new box", now=NOW
        )
        assert (done.status, done.resolution, done.resolved_at) == (
            ComplaintStatus.RESOLVED,
            "Sent a new box",
            NOW,
        )
        assert customer.name == "A"
        with pytest.raises(Conflict):
            await complaints.resolve(
                session, actor=shop.admin, complaint_id=cid, resolution="again", now=NOW
            )
        with pytest.raises(Conflict):
            await complaints.take(session, actor=shop.admin, complaint_id=cid, now=NOW)
        actions = await session.scalars(
            select(AuditLog.action).where(AuditLog.entity_id == cid).order_by(AuditLog.id)
        )
        assert list(actions) == ["complaint.take", "complaint.resolve"]


async def test_set_sla_needs_a_manager_and_sane_hours(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        with pytest.raises(PermissionDenied):
            await complaints.set_sla(session, actor=shop.li, workspace=shop.workspace, hours=5)
        for bad in (0, complaints.MAX_SLA_HOURS + 1):
            with pytest.raises(InvalidInput):
                await complaints.set_sla(
                    session, actor=shop.admin, workspace=shop.workspace, hours=bad
                )
        await complaints.set_sla(session, actor=shop.admin, workspace=shop.workspace, hours=6)
        assert shop.workspace.complaint_sla_hours == 6
        entry = await session.scalar(select(AuditLog).where(AuditLog.action == "complaint.sla"))
        assert entry is not None
        assert entry.details == {"before": 48, "after": 6}


async def test_overdue_reminds_once_per_period(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        shop.workspace.complaint_sla_hours = 2
        opened = await _open(session, shop, (await add_customer(session, shop, "A", shop.li)).id)
        resolved = await _open(session, shop, (await add_customer(session, shop, "B", shop.li)).id)
        await complaints.resolve(
            session,
            actor=shop.li,
            complaint_id=resolved.complaint.id,
            resolution="done",
            now=NOW,
        )
        assert await complaints.claim_overdue(session, now=NOW + timedelta(hours=1)) == []
        later = NOW + timedelta(hours=3)
        due = await complaints.claim_overdue(session, now=later)
        assert [(d.complaint_id, d.chat_id) for d in due] == [
            (opened.complaint.id, shop.li.chat_id)
        ]
        assert await complaints.claim_overdue(session, now=later + timedelta(hours=1)) == []
        # The rep left: the next reminder goes to (and reassigns the complaint to) the owner.
        shop.li.active = False
        again = await complaints.claim_overdue(session, now=later + complaints.REMIND_EVERY)
        assert [d.chat_id for d in again] == [shop.owner.chat_id]
        assert opened.complaint.assigned_member_id == shop.owner.id


async def _north(session: AsyncSession, shop: Shop) -> None:
    """Limit the admin Zhou to team North, with Li in it and Chen outside."""
    team = Team(workspace_id=shop.workspace.id, name="North")
    session.add(team)
    await session.flush()
    shop.admin.team_id = shop.li.team_id = team.id
    await session.flush()


@pytest.mark.timeout(60)
async def test_a_team_limited_admin_sees_and_handles_only_their_teams_complaints(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        await _north(session, shop)
        mine = await _open(session, shop, (await add_customer(session, shop, "A", shop.li)).id)
        pool = await _open(session, shop, (await add_customer(session, shop, "P", None)).id)
        outside = await _open(
            session, shop, (await add_customer(session, shop, "B", shop.chen)).id
        )
        listed = await complaints.list_for(session, actor=shop.admin)
        assert sorted(c.id for c, _ in listed) == [mine.complaint.id, pool.complaint.id]
        assert len(await complaints.list_for(session, actor=shop.owner)) == 3
        oid = outside.complaint.id
        with pytest.raises(NotFound):
            await complaints.get_for(session, actor=shop.admin, complaint_id=oid)
        with pytest.raises(NotFound):
            await complaints.take(session, actor=shop.admin, complaint_id=oid, now=NOW)
        with pytest.raises(NotFound):
            await complaints.resolve(
                session, actor=shop.admin, complaint_id=oid, resolution="done", now=NOW
            )
        assert outside.complaint.status is ComplaintStatus.OPEN
        assert outside.complaint.assigned_member_id == shop.chen.id
        taken, _ = await complaints.take(
            session, actor=shop.admin, complaint_id=mine.complaint.id, now=NOW
        )
        assert taken.assigned_member_id == shop.admin.id


@pytest.mark.timeout(60)
async def test_fallback_and_overdue_reassignment_skip_a_team_limited_admin_outside_it(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        shop.workspace.complaint_sla_hours = 2
        await _north(session, shop)
        shop.owner.active = False
        chen_left = await add_customer(session, shop, "B", shop.chen)
        li_left = await add_customer(session, shop, "A", shop.li)
        shop.chen.active = shop.li.active = False
        # Nobody else may take Chen's customer's complaint; Zhou may take Li's.
        assert (await _open(session, shop, chen_left.id)).assignee is None
        assert (await _open(session, shop, li_left.id)).assignee is shop.admin

        # Zhou took a pool customer's complaint; the customer then went to Chen.
        shop.chen.active = True
        pooled = await add_customer(session, shop, "P", None)
        opened = await _open(session, shop, pooled.id)
        await complaints.take(session, actor=shop.admin, complaint_id=opened.complaint.id, now=NOW)
        pooled.owner_member_id = shop.chen.id
        await session.flush()
        due = await complaints.claim_overdue(session, now=NOW + timedelta(hours=3))
        by_id = {d.complaint_id: d.chat_id for d in due}
        assert by_id[opened.complaint.id] == shop.chen.chat_id
        assert opened.complaint.assigned_member_id == shop.chen.id
