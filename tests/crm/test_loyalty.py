"""Loyalty points: earning on purchases, the ledger's balance, redemption, adjustment, scope."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import ColumnElement, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.crm import loyalty, purchases
from bot.crm.models import AuditLog, Member, PointsEntry, PointsReason
from bot.crm.store import unit_of_work
from bot.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from tests.factories import Shop, add_customer, make_shop

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("amount_minor", "rate", "points"),
    [
        (12850, 1, 128),  # ¥128.50 → 128: the half unit earns nothing
        (12899, 3, 386),  # 128.99 × 3 = 386.97 → 386, rounded down
        (99, 1, 0),  # under one unit
        (100, 1, 1),
        (150, 2, 3),  # 1.50 × 2 = 3 exactly
        (10000, 0, 0),  # points are off
    ],
)
def test_points_for_rounds_down(amount_minor: int, rate: int, points: int) -> None:
    assert loyalty.points_for(amount_minor, rate) == points


async def _buy(session: AsyncSession, shop: Shop, customer_id: int, minor: int) -> int:
    done = await purchases.record_purchase(
        session, actor=shop.li, customer_id=customer_id, amount_minor=minor, note=None, now=NOW
    )
    return done.points


async def _count(session: AsyncSession, where: ColumnElement[bool]) -> int:
    total = await session.scalar(select(func.count()).select_from(PointsEntry).where(where))
    return int(total or 0)


async def test_purchase_earns_points_once(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        zhao = await add_customer(session, shop, "Zhao", shop.li)
        done = await purchases.record_purchase(
            session, actor=shop.li, customer_id=zhao.id, amount_minor=12850, note=None, now=NOW
        )
        assert (done.points, done.points_balance) == (128, 128)
        # Running the award again for the same purchase credits nothing more.
        again = await loyalty.award_purchase(
            session, purchase=done.purchase, workspace=shop.workspace
        )
        assert again == 0
        assert await _count(session, PointsEntry.purchase_id == done.purchase.id) == 1
        assert await _buy(session, shop, zhao.id, 99) == 0  # ¥0.99 earns no entry
        shop.workspace.points_per_unit = 2
        assert await _buy(session, shop, zhao.id, 1050) == 21
        shop.workspace.points_per_unit = 0
        assert await _buy(session, shop, zhao.id, 100000) == 0
        assert await loyalty.balance(session, shop.workspace.id, zhao.id) == 149
        entry = await session.scalar(
            select(PointsEntry).where(PointsEntry.purchase_id == done.purchase.id)
        )
        assert entry is not None
        assert (entry.reason, entry.delta, entry.member_id) == (
            PointsReason.PURCHASE,
            128,
            shop.li.id,
        )
    # A second transaction cannot earn the same purchase's points either.
    async with unit_of_work(sessions) as session:
        await loyalty.award_purchase(session, purchase=done.purchase, workspace=shop.workspace)
        assert await loyalty.balance(session, shop.workspace.id, zhao.id) == 149
        assert await _count(session, PointsEntry.customer_id == zhao.id) == 2


async def test_redeem_never_below_zero(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        zhao = await add_customer(session, shop, "Zhao", shop.li)
        await _buy(session, shop, zhao.id, 12800)
        moved = await loyalty.redeem(
            session, actor=shop.li, customer_id=zhao.id, points=100, note=" tea  cup ", now=NOW
        )
        assert (moved.balance, moved.entry.delta, moved.entry.note) == (28, -100, "tea cup")
        assert moved.entry.reason is PointsReason.REDEEM
        with pytest.raises(Conflict, match="can't come off") as refused:
            await loyalty.redeem(
                session, actor=shop.li, customer_id=zhao.id, points=29, note=None, now=NOW
            )
        assert refused.value.params["balance"] == 28
        for points in (0, -5):
            with pytest.raises(InvalidInput):
                await loyalty.redeem(
                    session, actor=shop.li, customer_id=zhao.id, points=points, note=None, now=NOW
                )
        last = await loyalty.redeem(
            session, actor=shop.owner, customer_id=zhao.id, points=28, note=None, now=NOW
        )
        assert last.balance == 0
        assert await loyalty.balance(session, shop.workspace.id, zhao.id) == 0
        audited = await session.scalar(
            select(func.count()).where(AuditLog.action == "points.redeem")
        )
        assert audited == 2


async def test_adjust_needs_admin_and_reason(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        zhao = await add_customer(session, shop, "Zhao", shop.li)
        with pytest.raises(PermissionDenied):
            await loyalty.adjust(
                session, actor=shop.li, customer_id=zhao.id, delta=10, reason="gift", now=NOW
            )
        with pytest.raises(InvalidInput, match="reason"):
            await loyalty.adjust(
                session, actor=shop.admin, customer_id=zhao.id, delta=10, reason="  ", now=NOW
            )
        with pytest.raises(InvalidInput):
            await loyalty.adjust(
                session, actor=shop.admin, customer_id=zhao.id, delta=0, reason="x", now=NOW
            )
        with pytest.raises(Conflict):
            await loyalty.adjust(
                session, actor=shop.admin, customer_id=zhao.id, delta=-1, reason="x", now=NOW
            )
        up = await loyalty.adjust(
            session, actor=shop.admin, customer_id=zhao.id, delta=50, reason="birthday", now=NOW
        )
        down = await loyalty.adjust(
            session, actor=shop.owner, customer_id=zhao.id, delta=-20, reason="typo", now=NOW
        )
        assert (up.balance, down.balance, down.entry.note) == (50, 30, "typo")
        log = (
            await session.scalars(
                select(AuditLog).where(AuditLog.action == "points.adjust").order_by(AuditLog.id)
            )
        ).all()
        assert [(a.actor_member_id, a.entity_id, a.details["delta"]) for a in log] == [
            (shop.admin.id, zhao.id, 50),
            (shop.owner.id, zhao.id, -20),
        ]


async def test_scope_across_staff_and_workspaces(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        other = await make_shop(session, "Porcelain")
        zhao = await add_customer(session, shop, "Zhao", shop.li)
        qian = await add_customer(session, shop, "Qian", shop.chen)
        sun = await add_customer(session, other, "Sun", other.li)
        await _buy(session, shop, zhao.id, 5000)
        with pytest.raises(NotFound):
            await loyalty.statement_of(session, actor=shop.chen, customer_id=zhao.id)
        with pytest.raises(NotFound):
            await loyalty.redeem(
                session, actor=shop.chen, customer_id=zhao.id, points=1, note=None, now=NOW
            )
        for actor in (other.owner, other.li):
            with pytest.raises(NotFound):
                await loyalty.statement_of(session, actor=actor, customer_id=zhao.id)
        with pytest.raises(NotFound):
            await loyalty.adjust(
                session, actor=other.owner, customer_id=zhao.id, delta=5, reason="x", now=NOW
            )
        seen = await loyalty.statement_of(session, actor=shop.owner, customer_id=zhao.id)
        assert (seen.balance, [e.delta for e in seen.entries]) == (50, [50])
        # The workspace is part of every read: another shop's id reads as no points.
        assert await loyalty.balance(session, other.workspace.id, zhao.id) == 0
        assert await loyalty.balances(
            session, shop.workspace.id, [zhao.id, qian.id, sun.id, zhao.id]
        ) == {zhao.id: 50, qian.id: 0, sun.id: 0}
        assert await loyalty.balances(session, shop.workspace.id, []) == {}
        shop.li.active = False
        with pytest.raises(PermissionDenied):
            await loyalty.statement_of(session, actor=shop.li, customer_id=zhao.id)


async def test_statements_for_account_per_shop(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        other = await make_shop(session, "Porcelain")
        mine = await add_customer(
            session, shop, "Zhao", shop.li, tg_user_id=77, created_at=NOW - timedelta(days=9)
        )
        theirs = await add_customer(
            session, other, "Zhao", other.li, tg_user_id=77, created_at=NOW
        )
        await add_customer(session, other, "Gone", None, tg_user_id=88, erased_at=NOW)
        await _buy(session, shop, mine.id, 2000)
        for day in range(7):
            await loyalty.adjust(
                session,
                actor=other.owner,
                customer_id=theirs.id,
                delta=day + 1,
                reason=f"day {day}",
                now=NOW + timedelta(days=day),
            )
        found = await loyalty.statements_for_account(session, tg_user_id=77)
        assert [(s.workspace.name, s.balance) for s in found] == [("Porcelain", 28), ("Tea", 20)]
        assert [e.note for e in found[0].entries] == [f"day {d}" for d in (6, 5, 4, 3, 2)]
        assert await loyalty.statements_for_account(session, tg_user_id=88) == []


async def test_set_rate(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        other = await make_shop(session, "Porcelain")
        with pytest.raises(PermissionDenied):
            await loyalty.set_rate(
                session, actor=shop.li, workspace=shop.workspace, points_per_unit=5
            )
        with pytest.raises(PermissionDenied):
            await loyalty.set_rate(
                session, actor=other.owner, workspace=shop.workspace, points_per_unit=5
            )
        for bad in (-1, 1001):
            with pytest.raises(InvalidInput):
                await loyalty.set_rate(
                    session, actor=shop.admin, workspace=shop.workspace, points_per_unit=bad
                )
        await loyalty.set_rate(
            session, actor=shop.admin, workspace=shop.workspace, points_per_unit=0
        )
        assert shop.workspace.points_per_unit == 0
        entry = await session.scalar(select(AuditLog).where(AuditLog.action == "points.rate"))
        assert entry is not None and entry.details == {"before": 1, "after": 0}


async def test_redemption_waits_for_a_concurrent_one(
    sessions: async_sessionmaker[AsyncSession], db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite lets one writer in at a time; the row lock matters on PostgreSQL")
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session)
        zhao = await add_customer(session, shop, "Zhao", shop.li)
        await _buy(session, shop, zhao.id, 10000)
    first = sessions()
    li = await first.get(Member, shop.li.id)
    assert li is not None
    await loyalty.redeem(first, actor=li, customer_id=zhao.id, points=80, note=None, now=NOW)

    read = asyncio.Event()
    real_balance = loyalty.balance

    async def watched(session: AsyncSession, workspace_id: int, customer_id: int) -> int:
        value = await real_balance(session, workspace_id, customer_id)
        read.set()
        return value

    monkeypatch.setattr(loyalty, "balance", watched)

    async def second() -> int:
        async with unit_of_work(sessions) as own:
            owner = await own.get(Member, shop.owner.id)
            assert owner is not None
            moved = await loyalty.redeem(
                own, actor=owner, customer_id=zhao.id, points=80, note=None, now=NOW
            )
            return moved.balance

    # The second redemption must queue behind the first one's uncommitted spend,
    # not read the balance from before it.
    task = asyncio.create_task(second())
    try:
        async with asyncio.timeout(30), sessions() as probe:
            waiting = (
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            while not read.is_set() and not await probe.scalar(text(waiting)):
                # pg_stat_activity is a snapshot per transaction: look again in a new one.
                await probe.rollback()
                await asyncio.sleep(0.02)
        assert not read.is_set()
        await first.commit()
    except BaseException:
        # No connection or task is left behind for a later test to trip over.
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        raise
    finally:
        await first.close()
    with pytest.raises(Conflict):
        await task
    async with unit_of_work(sessions) as session:
        assert await real_balance(session, shop.workspace.id, zhao.id) == 20
