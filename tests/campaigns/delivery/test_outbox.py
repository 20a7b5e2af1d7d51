"""Outbox SQL: materialising in batches, enqueueing, claiming, recovering and counting."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.campaigns.delivery import outbox
from bot.campaigns.delivery.outbox import Settle
from bot.crm.models import Consent, OutboxMessage, OutboxStatus, RunStatus
from bot.crm.store import unit_of_work
from tests.campaigns.delivery.helpers import NOW, make_run, make_shop


async def _statuses(session: AsyncSession, run_id: int) -> list[tuple[int, str]]:
    rows = await session.execute(
        select(OutboxMessage.customer_id, OutboxMessage.status)
        .where(OutboxMessage.run_id == run_id)
        .order_by(OutboxMessage.id)
    )
    return [(c, str(s)) for c, s in rows]


async def test_materialise_in_batches_resumes_and_never_duplicates(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session, [f"Customer {n}" for n in range(25)])
        shop.customers[3].consent = Consent.OPTED_OUT
        shop.customers[4].reachable = False
        shop.customers[5].chat_id = None
        run = await make_run(session, shop)
        added = [
            await outbox.materialise_batch(session, run, {}, birthday=None, limit=10)
            for _ in range(4)
        ]
        assert added == [10, 10, 2, 0]
        rows = await _statuses(session, run.id)
        expected = [c.id for n, c in enumerate(shop.customers) if n not in (3, 4, 5)]
        assert [c for c, _ in rows] == expected  # ascending, one each, only reachable opt-ins
        assert {s for _, s in rows} == {"pending"}
        assert await outbox.total(session, run.id) == 22


async def test_birthday_run_takes_only_that_days_birthdays(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session, ["Ann", "Bo", "Cy"])
        shop.customers[0].birthday_date = date(1990, 2, 28)
        shop.customers[1].birthday_date = date(1992, 2, 29)
        shop.customers[2].birthday_date = date(1991, 3, 1)
        run = await make_run(session, shop, occurrence="2027-02-28")
        await outbox.materialise_batch(session, run, {}, birthday=date(2027, 2, 28), limit=100)
        rows = await _statuses(session, run.id)
        # 2027 is not a leap year: people born on 29 February are greeted on the 28th.
        assert [c for c, _ in rows] == [shop.customers[0].id, shop.customers[1].id]


async def test_enqueue_is_idempotent(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session, ["Ann"])
        run = await make_run(session, shop, occurrence="welcome")
        assert await outbox.enqueue(session, run=run, customer_id=shop.customers[0].id)
        assert not await outbox.enqueue(session, run=run, customer_id=shop.customers[0].id)
        assert await outbox.total(session, run.id) == 1


async def test_claim_takes_due_rows_in_id_order_from_running_runs_only(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session, [f"C{n}" for n in range(6)])
        run = await make_run(session, shop)
        await outbox.materialise_batch(session, run, {}, birthday=None, limit=100)
        ids = list(
            await session.scalars(
                select(OutboxMessage.id)
                .where(OutboxMessage.run_id == run.id)
                .order_by(OutboxMessage.id)
            )
        )
        # The first row waits until later (quiet hours or a retry).
        await outbox.settle(
            session,
            [Settle(ids[0], OutboxStatus.PENDING, "quiet_hours", 0, NOW + timedelta(hours=1))],
            now=NOW,
        )
        first = await outbox.claim(session, run_id=run.id, after_id=0, now=NOW, limit=2)
        assert [r.id for r in first] == ids[1:3]
        assert first[0].name == "C1"
        assert first[0].opted_in
        assert first[0].chat_id == 1001
        after = await outbox.claim(session, run_id=run.id, after_id=ids[2], now=NOW, limit=10)
        assert [r.id for r in after] == ids[3:]
        later = NOW + timedelta(hours=2)
        assert [
            r.id
            for r in await outbox.claim(session, run_id=run.id, after_id=0, now=later, limit=10)
        ] == [ids[0]]
        assert await outbox.has_open(session, run.id)

        paused = await make_run(session, shop, status=RunStatus.PAUSED)
        await outbox.materialise_batch(session, paused, {}, birthday=None, limit=100)
        assert await outbox.claim(session, run_id=paused.id, after_id=0, now=NOW, limit=10) == []


async def test_recover_turns_sending_into_unknown_and_counts_show_it(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session, [f"C{n}" for n in range(5)])
        run = await make_run(session, shop)
        await outbox.materialise_batch(session, run, {}, birthday=None, limit=100)
        claimed = await outbox.claim(session, run_id=run.id, after_id=0, now=NOW, limit=3)
        await outbox.settle(
            session,
            [
                Settle(claimed[0].id, OutboxStatus.SENT, None, 1, tg_message_id=9, sent_at=NOW),
                Settle(claimed[1].id, OutboxStatus.SKIPPED, "capped", 0),
            ],
            now=NOW,
        )
        rest = await outbox.claim(session, run_id=run.id, after_id=claimed[2].id, now=NOW, limit=1)
        await outbox.settle(
            session,
            [Settle(rest[0].id, OutboxStatus.PENDING, "quiet_hours", 0, NOW + timedelta(hours=3))],
            now=NOW,
        )
        assert await outbox.recover(session, now=NOW) == 1
        counts = await outbox.counts(session, run.id)
        assert counts == {
            "run_id": run.id,
            "status": "running",
            "total": 5,
            "pending": 2,
            "sending": 0,
            "sent": 1,
            "skipped": {"capped": 1},
            "failed": 0,
            "blocked": 0,
            "unknown": 1,
            "deferred": 1,
        }
        sent = await outbox.recent_sends(
            session, [c.id for c in shop.customers], since=NOW - timedelta(days=7)
        )
        assert sent == {shop.customers[0].id: 1}
        assert (
            await session.scalar(
                select(func.count()).where(OutboxMessage.status == OutboxStatus.UNKNOWN)
            )
            == 1
        )
