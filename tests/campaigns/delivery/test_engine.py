"""The delivery engine end to end on SQLite with a fake Telegram: who gets what, once."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.campaigns.delivery import DeliveryEngine, outbox, report
from bot.config import DeliverySettings
from bot.crm.models import (
    CampaignKind,
    CampaignRun,
    Consent,
    ConsentAction,
    ConsentEvent,
    Customer,
    MessageTemplate,
    OutboxMessage,
    OutboxStatus,
    PointsEntry,
    PointsReason,
    RunStatus,
    TemplateVersion,
)
from bot.crm.store import unit_of_work
from bot.errors import BadRequest, Blocked, RetryAfter, TransientError
from tests.campaigns.delivery.helpers import (
    FAST,
    NOW,
    Clock,
    FakeTelegram,
    make_run,
    make_shop,
    run_counts,
    run_finished,
    wait_until,
)

Sessions = async_sessionmaker[AsyncSession]


@asynccontextmanager
async def running(
    sessions: Sessions,
    telegram: FakeTelegram,
    clock: Callable[[], object] | None = None,
    settings: DeliverySettings = FAST,
) -> AsyncIterator[DeliveryEngine]:
    engine = DeliveryEngine(
        sessions,
        telegram,
        settings,
        clock=clock or Clock(),  # type: ignore[arg-type]
        rng=lambda: 0.5,
        scan_interval=0.02,
    )
    await engine.start()
    try:
        yield engine
    finally:
        await engine.stop()


async def test_broadcast_reaches_each_customer_once_by_name_and_reports_to_its_creator(
    sessions: Sessions,
) -> None:
    names = [f"Customer{n} Surname" for n in range(40)]
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session, names)
        run = await make_run(session, shop, creator=shop.admin)
    telegram = FakeTelegram()
    async with running(sessions, telegram):
        await run_finished(sessions, run.id)
    for n in range(40):
        [text] = telegram.texts_to(1000 + n)
        assert f"Season's greetings, Customer{n}!" in text
        assert "from everyone at Wang&#39;s Tea." in text  # HTML-escaped
    button = telegram.sent[0].buttons[0][0]
    assert (button.text, button.data) == ("Stop these messages", f"uo:{shop.workspace.id}")
    assert all(s.paid for s in telegram.sent if s.chat_id >= 1000)
    [notice] = telegram.texts_to(shop.admin.chat_id)
    assert "Campaign “Spring hello” is done." in notice
    assert "Sent: 40" in notice
    assert telegram.texts_to(shop.owner.chat_id) == []
    async with sessions() as session:
        rep = await report(session, run.id)
        finished = await session.get(CampaignRun, run.id)
    assert finished is not None and finished.status is RunStatus.FINISHED
    assert finished.total == 40
    assert rep.to_json()["sent"] == 40


async def test_claim_time_checks_skip_opted_out_capped_and_recently_contacted(
    sessions: Sessions,
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session, ["Ann", "Bo", "Cy", "Di", "Ed"])
        ann, bo, cy, di, ed = shop.customers
        run = await make_run(
            session, shop, kind=CampaignKind.WEEKLY, template_key="weekly_touchpoint"
        )
        await outbox.materialise_batch(session, run, {}, birthday=None, limit=100)
        # After the audience was built: Ann opts out, Bo blocks the bot, Cy got a follow-up
        # 3 days ago, Di already got two campaign messages this week; Ed gets it.
        ann.consent = Consent.OPTED_OUT
        bo.reachable = False
        cy.last_contact_at = NOW - timedelta(days=3)
        ed.last_contact_at = NOW - timedelta(days=8)
        for days in (1, 6):
            earlier = await make_run(session, shop, occurrence=f"{days} days ago")
            earlier.status, earlier.finished_at, earlier.reported_at = RunStatus.FINISHED, NOW, NOW
            session.add(
                OutboxMessage(
                    workspace_id=shop.workspace.id,
                    run_id=earlier.id,
                    customer_id=di.id,
                    status=OutboxStatus.SENT,
                    sent_at=NOW - timedelta(days=days),
                    attempts=1,
                )
            )
    telegram = FakeTelegram()
    async with running(sessions, telegram):
        await run_finished(sessions, run.id)
    assert [s.chat_id for s in telegram.sent if s.chat_id >= 1000] == [1004]
    counts = await run_counts(sessions, run.id)
    assert counts["skipped"] == {
        "capped": 1,
        "opted_out": 1,
        "recently_contacted": 1,
        "unreachable": 1,
    }
    assert counts["sent"] == 1


async def test_quiet_hours_defer_by_each_customers_zone_until_their_morning(
    sessions: Sessions,
) -> None:
    # 14:00 UTC: 22:00 in Shanghai (quiet), 09:00 in New York, 15:00 in Berlin.
    clock = Clock(NOW.replace(hour=14))
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session, ["Shanghai Sun", "York Yu", "Berlin Bea", "Shop Zone"])
        shop.customers[0].timezone = "Asia/Shanghai"
        shop.customers[1].timezone = "America/New_York"
        shop.customers[2].timezone = "Europe/Berlin"
        # The fourth has no zone of their own: the shop's (Shanghai) counts.
        run = await make_run(session, shop)
    telegram = FakeTelegram()
    async with running(sessions, telegram, clock):
        await wait_until(sessions, lambda s: _count(s, run.id, OutboxStatus.SENT, 2))
        async with sessions() as session:
            waiting = (
                await session.execute(
                    select(
                        OutboxMessage.customer_id,
                        OutboxMessage.not_before_at,
                        OutboxMessage.reason,
                    )
                    .where(OutboxMessage.status == OutboxStatus.PENDING)
                    .order_by(OutboxMessage.customer_id)
                )
            ).all()
        morning = NOW.replace(hour=1) + timedelta(days=1)  # 09:00 in Shanghai
        assert [(c, at, r) for c, at, r in waiting] == [
            (shop.customers[0].id, morning, "quiet_hours"),
            (shop.customers[3].id, morning, "quiet_hours"),
        ]
        assert sorted(s.chat_id for s in telegram.sent) == [1001, 1002]
        counts = await run_counts(sessions, run.id)
        assert counts["deferred"] == 2
        clock.now = morning
        await run_finished(sessions, run.id)
    assert sorted(s.chat_id for s in telegram.sent if s.chat_id >= 1000) == [
        1000,
        1001,
        1002,
        1003,
    ]


async def _count(session: AsyncSession, run_id: int, status: OutboxStatus, n: int) -> bool:
    rows = await session.scalars(
        select(OutboxMessage.id).where(
            OutboxMessage.run_id == run_id, OutboxMessage.status == status
        )
    )
    return len(list(rows)) >= n


async def test_birthday_run_greets_the_days_birthdays(sessions: Sessions) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session, ["Ann", "Bo"])
        shop.customers[0].birthday_date = date(1990, 11, 30)
        shop.customers[1].birthday_date = date(1990, 12, 1)
        run = await make_run(
            session,
            shop,
            kind=CampaignKind.BIRTHDAY,
            template_key="birthday",
            occurrence="2026-11-30",
        )
    telegram = FakeTelegram()
    async with running(sessions, telegram):
        await run_finished(sessions, run.id)
    [text] = [s.text for s in telegram.sent if s.chat_id >= 1000]
    assert "Happy birthday, Ann!" in text


async def test_telegram_errors_blocked_retried_gated_and_failed(sessions: Sessions) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session, ["Ann", "Bo", "Cy", "Di"])
        run = await make_run(session, shop)
    clock = Clock()
    telegram = FakeTelegram(
        script={
            1001: [TransientError("Bad Gateway")],
            1002: [RetryAfter("Too Many Requests: retry after 0.2", 0.2)],
        },
        always={
            1000: Blocked("Forbidden: bot was blocked by the user"),
            1003: BadRequest("Bad Request: chat not found"),
        },
    )
    async with running(sessions, telegram, clock):
        await wait_until(sessions, lambda s: _count(s, run.id, OutboxStatus.SENT, 1))
        # Bo's 5xx put his row back for a retry after a backoff; let that time pass.
        clock.advance(minutes=5)
        await run_finished(sessions, run.id)
    assert sorted(s.chat_id for s in telegram.sent if s.chat_id >= 1000) == [1001, 1002]
    assert telegram.attempts.count(1001) == 2
    assert telegram.attempts.count(1002) == 2
    assert telegram.attempts.count(1000) == 1  # blocked: never retried
    counts = await run_counts(sessions, run.id)
    assert (counts["sent"], counts["blocked"], counts["failed"]) == (2, 1, 1)
    async with sessions() as session:
        ann = await session.get(Customer, shop.customers[0].id)
        events = list(await session.scalars(select(ConsentEvent.action)))
        failed = await session.scalar(
            select(OutboxMessage.reason).where(OutboxMessage.status == OutboxStatus.FAILED)
        )
    assert ann is not None and ann.reachable is False
    assert events == [ConsentAction.BLOCKED]
    assert failed == "Bad Request: chat not found"
    notice = "\n".join(telegram.texts_to(shop.owner.chat_id))
    assert "Blocked the bot: 1" in notice
    assert "Failed: 1" in notice


async def test_run_pauses_itself_after_errors_in_a_row_and_tells_admins(
    sessions: Sessions,
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session, [f"C{n}" for n in range(12)])
        run = await make_run(session, shop)
    down = TransientError("Service Unavailable")
    telegram = FakeTelegram(always={1000 + n: down for n in range(12)})
    async with running(sessions, telegram):

        async def paused(session: AsyncSession) -> bool:
            found = await session.get(CampaignRun, run.id, populate_existing=True)
            return found is not None and found.status is RunStatus.PAUSED

        await wait_until(sessions, paused)
        await wait_until(sessions, lambda s: telegram.texts_to(shop.admin.chat_id))
    assert "paused itself after 5 delivery problems" in telegram.texts_to(shop.owner.chat_id)[0]
    # Sends to customers only: the pause notices to the owner and admin are not run traffic.
    to_customers = [chat for chat in telegram.attempts if chat >= 1000]
    assert len(to_customers) <= FAST.pause_after_errors + FAST.concurrency
    async with sessions() as session:
        assert (await session.get(CampaignRun, run.id)).paused_reason == "errors"  # type: ignore[union-attr]
    counts = await run_counts(sessions, run.id)
    assert counts["sending"] == 0 and counts["sent"] == 0


async def test_stopped_run_skips_what_is_left_and_reports(sessions: Sessions) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session, ["Ann", "Bo"])
        run = await make_run(session, shop)
        await outbox.materialise_batch(session, run, {}, birthday=None, limit=100)
        run.materialised_at = NOW
        run.status = RunStatus.STOPPED
    telegram = FakeTelegram()
    async with running(sessions, telegram):
        await run_finished(sessions, run.id)
    assert [s for s in telegram.sent if s.chat_id >= 1000] == []
    counts = await run_counts(sessions, run.id)
    assert counts["skipped"] == {"stopped": 2}
    assert counts["status"] == "stopped"
    assert "was stopped" in telegram.texts_to(shop.owner.chat_id)[0]


async def test_restart_marks_in_flight_rows_unknown_and_never_resends_them(
    sessions: Sessions,
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session, ["Ann", "Bo", "Cy"])
        run = await make_run(session, shop)
        await outbox.materialise_batch(session, run, {}, birthday=None, limit=100)
        run.materialised_at = NOW
        # A crash left Ann's row on the wire.
        await outbox.claim(session, run_id=run.id, after_id=0, now=NOW, limit=1)
    telegram = FakeTelegram()
    # On PostgreSQL a "sending" row counts as lost only after a lease (another process may
    # still be sending it); on SQLite at once. Twenty minutes later covers both.
    async with running(sessions, telegram, Clock(NOW + timedelta(minutes=20))):
        await run_finished(sessions, run.id)
    assert sorted(s.chat_id for s in telegram.sent if s.chat_id >= 1000) == [1001, 1002]
    counts = await run_counts(sessions, run.id)
    assert (counts["unknown"], counts["sent"]) == (1, 2)
    assert (
        "Unknown (in flight during a restart, not resent): 1"
        in telegram.texts_to(shop.owner.chat_id)[0]
    )


async def test_welcome_run_sends_enqueued_rows_and_stays_open(sessions: Sessions) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session, ["Ann", "Bo"])
        run = await make_run(
            session, shop, kind=CampaignKind.WELCOME, template_key="welcome", occurrence="welcome"
        )
    telegram = FakeTelegram()
    async with running(sessions, telegram) as engine:
        async with unit_of_work(sessions) as session:
            found = await session.get(CampaignRun, run.id)
            assert found is not None
            assert await outbox.enqueue(session, run=found, customer_id=shop.customers[1].id)
        engine.wake()
        await wait_until(sessions, lambda s: _count(s, run.id, OutboxStatus.SENT, 1))
    assert [s.chat_id for s in telegram.sent] == [1001]
    async with sessions() as session:
        still = await session.get(CampaignRun, run.id)
    assert still is not None and still.status is RunStatus.RUNNING and still.finished_at is None


@pytest.mark.parametrize("concurrency", [1, 4])
async def test_rows_in_sending_never_exceed_concurrency(
    sessions: Sessions, concurrency: int
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session, [f"C{n}" for n in range(30)])
        run = await make_run(session, shop)
    peak = 0

    class Watching(FakeTelegram):
        async def send_text(self, *args: object, **kwargs: object) -> object:  # type: ignore[override]
            nonlocal peak
            async with sessions() as session:
                rows = await session.scalars(
                    select(OutboxMessage.id).where(OutboxMessage.status == OutboxStatus.SENDING)
                )
                peak = max(peak, len(list(rows)))
            return await super().send_text(*args, **kwargs)  # type: ignore[arg-type]

    settings = FAST.model_copy(update={"concurrency": concurrency})
    async with running(sessions, Watching(), settings=settings):
        await run_finished(sessions, run.id)
    assert 1 <= peak <= concurrency


async def test_templates_show_each_customers_own_points_balance(sessions: Sessions) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session, ["Zhao Lei", "Sun Mei"])
        template = MessageTemplate(
            workspace_id=shop.workspace.id, key="points_note", locale="en", current_version=1
        )
        session.add(template)
        await session.flush()
        session.add(
            TemplateVersion(
                workspace_id=shop.workspace.id,
                template_id=template.id,
                version=1,
                body="Hi {{ first_name }}, you have {{ points }} points.",
            )
        )
        for customer, deltas in zip(shop.customers, [(120, -20), ()], strict=True):
            for delta in deltas:
                session.add(
                    PointsEntry(
                        workspace_id=shop.workspace.id,
                        customer_id=customer.id,
                        delta=delta,
                        reason=PointsReason.ADJUST,
                    )
                )
        run = await make_run(session, shop, template_key="points_note")
    telegram = FakeTelegram()
    async with running(sessions, telegram):
        await run_finished(sessions, run.id)
    assert telegram.texts_to(1000) == ["Hi Zhao, you have 100 points."]
    assert telegram.texts_to(1001) == ["Hi Sun, you have 0 points."]
