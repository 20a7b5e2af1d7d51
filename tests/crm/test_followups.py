"""Follow-ups, /today and the digest claim on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crm import followups
from bot.crm.models import AuditLog, Channel, Customer, FollowUp, Member, Reminder
from bot.crm.store import unit_of_work
from bot.errors import InvalidInput, NotFound
from tests.factories import NOW, make_rep_shop


async def test_log_followup_stamps_contact_and_adds_reminder(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_rep_shop(session)
        customer = shop.customers[0]
        follow_up = await followups.log_followup(
            session,
            actor=shop.rep,
            customer_id=customer.id,
            channel=Channel.VISIT,
            summary="Tasted the new oolong",
            outcome="Interested",
            next_step="send samples",
            next_at=NOW + timedelta(days=2),
            now=NOW,
        )
    async with sessions() as session:
        saved = await session.get(FollowUp, follow_up.id)
        assert saved is not None and saved.channel is Channel.VISIT
        assert (await session.get(Customer, customer.id)).last_contact_at == NOW  # type: ignore[union-attr]
        reminder = await session.scalar(select(Reminder))
        assert reminder is not None
        assert (reminder.member_id, reminder.follow_up_id, reminder.text) == (
            shop.rep.id,
            follow_up.id,
            "send samples",
        )
        actions = await session.scalars(select(AuditLog.action).order_by(AuditLog.id))
        assert list(actions) == ["follow_up.create", "reminder.create"]


async def test_log_followup_refuses_customers_out_of_scope(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_rep_shop(session)
        with pytest.raises(NotFound):
            await followups.log_followup(
                session,
                actor=shop.other,
                customer_id=shop.customers[0].id,
                channel=Channel.CALL,
                summary="hello",
                outcome=None,
                next_step=None,
                next_at=None,
                now=NOW,
            )
        with pytest.raises(InvalidInput):
            await followups.log_followup(
                session,
                actor=shop.rep,
                customer_id=shop.customers[0].id,
                channel=Channel.CALL,
                summary="   ",
                outcome=None,
                next_step=None,
                next_at=None,
                now=NOW,
            )


async def test_today_lists_due_overdue_and_stale_customers(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_rep_shop(session, customers=14)
        for customer in shop.customers:
            customer.created_at = NOW - timedelta(days=30)
        shop.customers[0].last_contact_at = NOW - timedelta(days=1)
        shop.customers[1].last_contact_at = NOW - timedelta(days=8)
        ws = shop.rep.workspace_id
        session.add_all(
            [
                Reminder(
                    workspace_id=ws,
                    member_id=shop.rep.id,
                    text="overdue",
                    due_at=NOW - timedelta(hours=3),
                    customer_id=shop.customers[0].id,
                ),  # noqa: E501
                Reminder(
                    workspace_id=ws,
                    member_id=shop.rep.id,
                    text="later today",
                    due_at=NOW + timedelta(hours=2),
                ),  # noqa: E501
                Reminder(
                    workspace_id=ws,
                    member_id=shop.rep.id,
                    text="tomorrow",
                    due_at=NOW + timedelta(hours=10),
                ),  # noqa: E501
                Reminder(
                    workspace_id=ws,
                    member_id=shop.rep.id,
                    text="done",
                    due_at=NOW - timedelta(hours=1),
                    done_at=NOW,
                ),  # noqa: E501
                Reminder(
                    workspace_id=ws,
                    member_id=shop.other.id,
                    text="theirs",
                    due_at=NOW - timedelta(days=1),
                ),  # noqa: E501
            ]
        )
    async with unit_of_work(sessions) as session:
        rep = await session.get(Member, shop.rep.id)
        assert rep is not None
        day = await followups.today(session, actor=rep, now=NOW)
        assert day.team == ()
        assert [d.text for d in day.mine.due] == ["overdue", "later today"]
        assert (day.mine.due_total, day.mine.overdue_total) == (2, 1)
        assert day.mine.due[0].customer_name == "customer 0"
        assert day.mine.stale_total == 13
        assert len(day.mine.stale) == followups.LIST_CAP
        assert shop.customers[0].id not in {s.customer_id for s in day.mine.stale}

        owner = await session.get(Member, shop.owner.id)
        assert owner is not None
        team = (await followups.today(session, actor=owner, now=NOW)).team
        assert [(a.member_id, a.due_total, a.overdue_total, a.stale_total) for a in team] == [
            (shop.rep.id, 2, 1, 13),
            (shop.other.id, 1, 1, 0),
        ]
        assert [d.text for d in team[0].due] == ["overdue"]


async def test_digest_is_claimed_once_per_local_day(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_rep_shop(session)
        await followups.set_digest(session, actor=shop.rep, digest_time="8:30")
        assert shop.rep.digest_time == "08:30"
        with pytest.raises(InvalidInput):
            await followups.set_digest(session, actor=shop.other, digest_time="25:00")
    before = datetime(2026, 11, 23, 0, 29, tzinfo=UTC)  # 08:29 Shanghai
    at = datetime(2026, 11, 23, 0, 30, 5, tzinfo=UTC)
    for moment, expected in [
        (before, []),
        (at, [shop.rep.id]),
        (at + timedelta(seconds=2), []),
        (at + timedelta(hours=15), []),  # 23:30 the same local day
        (at + timedelta(days=1), [shop.rep.id]),
    ]:
        async with unit_of_work(sessions) as session:
            due = await followups.claim_digests(session, now=moment)
            assert [m.id for m in due] == expected, moment
    async with sessions() as session:
        sent = await session.scalar(
            select(func.count()).where(AuditLog.action == followups.DIGEST_ACTION)
        )
        assert sent == 2
