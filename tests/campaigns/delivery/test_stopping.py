"""Stopping the engine ends within its deadline in every state, and never sends a row twice."""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.campaigns.delivery import DeliveryEngine, outbox
from bot.campaigns.delivery.book import RunBook
from bot.campaigns.render_pool import Job, RenderPool, Result
from bot.config import DeliverySettings
from bot.crm.models import CampaignRun, MessageTemplate, OutboxMessage, RunStatus, TemplateVersion
from bot.crm.store import SQLITE_BUSY_TIMEOUT_MS, unit_of_work
from bot.messaging import Keyboard, SentMessage
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
STOP_TIMEOUT = 1.5
# What stop() may take beyond its timeout: a cancelled send or write unwinding.
SLACK = 1.5


class Silent(FakeTelegram):
    """A Telegram that takes requests and never answers them."""

    async def send_text(
        self, chat_id: int, text: str, buttons: Keyboard = (), *, paid_broadcast: bool = False
    ) -> SentMessage:
        self.attempts.append(chat_id)
        await asyncio.Event().wait()
        raise AssertionError  # pragma: no cover - never answers


class Slow(FakeTelegram):
    """A Telegram that answers every request after ``delay`` seconds."""

    delay: float = 0.3

    async def send_text(
        self, chat_id: int, text: str, buttons: Keyboard = (), *, paid_broadcast: bool = False
    ) -> SentMessage:
        await asyncio.sleep(self.delay)
        return await super().send_text(chat_id, text, buttons, paid_broadcast=paid_broadcast)


def _engine(
    sessions: Sessions, telegram: FakeTelegram, settings: DeliverySettings = FAST
) -> DeliveryEngine:
    return DeliveryEngine(
        sessions,
        telegram,
        settings,
        clock=Clock(),
        rng=lambda: 0.5,
        scan_interval=0.02,
        stop_timeout=STOP_TIMEOUT,
    )


async def _timed_stop(engine: DeliveryEngine) -> float:
    loop = asyncio.get_running_loop()
    began = loop.time()
    async with asyncio.timeout(STOP_TIMEOUT + 10):
        await engine.stop()
    return loop.time() - began


async def _shop_run(sessions: Sessions, n: int, status: RunStatus = RunStatus.RUNNING) -> int:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session, [f"C{i}" for i in range(n)])
        run = await make_run(session, shop, status=status)
        await outbox.materialise_batch(session, run, {}, birthday=None, limit=1000)
        run.materialised_at = NOW
        run.total = n
        return run.id


class Stalled(RenderPool):
    """A render pool whose workers take a batch and never give it back."""

    def __init__(self) -> None:
        super().__init__(workers=1)
        self.entered = asyncio.Event()

    async def render(self, jobs: Sequence[Job]) -> list[Result]:
        self.entered.set()
        await asyncio.Event().wait()
        raise AssertionError  # pragma: no cover - never returns


async def _pool_run(sessions: Sessions, n: int) -> int:
    """A running run whose text needs the render pool (a loop is not filled in on the loop)."""
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session, [f"C{i}" for i in range(n)])
        template = MessageTemplate(
            workspace_id=shop.workspace.id, key="looped", locale="en", current_version=1
        )
        session.add(template)
        await session.flush()
        session.add(
            TemplateVersion(
                workspace_id=shop.workspace.id,
                template_id=template.id,
                version=1,
                body="{% for _ in [1] %}Hello {{ name }}{% endfor %}",
            )
        )
        run = await make_run(session, shop, template_key="looped")
        await outbox.materialise_batch(session, run, {}, birthday=None, limit=1000)
        run.materialised_at = NOW
        run.total = n
        return run.id


async def _lock(path: Path) -> sqlite3.Connection:
    """Take SQLite's write lock as another process would, without blocking the event loop."""
    locker = sqlite3.connect(path, isolation_level=None, timeout=0)
    async with asyncio.timeout(10):
        while True:
            try:
                locker.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError:
                await asyncio.sleep(0.005)  # the engine is mid-write: try again
            else:
                return locker


async def _reasons(sessions: Sessions, run_id: int) -> Counter[tuple[str, str | None]]:
    async with sessions() as session:
        rows = await session.execute(
            select(OutboxMessage.status, OutboxMessage.reason).where(
                OutboxMessage.run_id == run_id
            )
        )
        return Counter((str(status), reason) for status, reason in rows)


async def test_a_messenger_that_never_answers_is_given_up_at_the_deadline_as_unknown(
    sessions: Sessions,
) -> None:
    run_id = await _shop_run(sessions, 20)
    telegram = Silent()
    engine = _engine(sessions, telegram)
    await engine.start()
    await wait_until(sessions, lambda _: len(telegram.attempts) >= FAST.concurrency)
    took = await _timed_stop(engine)
    assert took < STOP_TIMEOUT + SLACK
    reasons = await _reasons(sessions, run_id)
    on_the_wire = len(set(telegram.attempts))
    # Every request left unanswered is "unknown" (never resent); the rest wait as pending.
    assert reasons == {
        ("unknown", "in flight at stop"): on_the_wire,
        ("pending", None): 20 - on_the_wire,
    }


@pytest.mark.parametrize("status", [RunStatus.PAUSED, RunStatus.STOPPED, RunStatus.FINISHED])
async def test_stop_is_prompt_with_runs_that_do_not_send(
    sessions: Sessions, status: RunStatus
) -> None:
    await _shop_run(sessions, 5, status)
    engine = _engine(sessions, FakeTelegram())
    await engine.start()
    await asyncio.sleep(0.2)
    assert await _timed_stop(engine) < 0.5


async def test_stop_while_sending_lets_answers_come_back_and_puts_the_rest_back(
    sessions: Sessions,
) -> None:
    run_id = await _shop_run(sessions, 40)
    telegram = Slow()
    engine = _engine(sessions, telegram)
    await engine.start()
    await wait_until(sessions, lambda _: len(telegram.sent) >= 1)
    took = await _timed_stop(engine)
    assert took < STOP_TIMEOUT
    counts = await run_counts(sessions, run_id)
    assert counts["sending"] == 0 and counts["unknown"] == 0
    assert counts["sent"] == len(telegram.sent)
    assert counts["pending"] == 40 - len(telegram.sent)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_rows_claimed_but_still_rendering_at_stop_go_back_to_pending(
    sessions: Sessions,
) -> None:
    run_id = await _pool_run(sessions, 6)
    telegram = FakeTelegram()
    stalled = Stalled()
    engine = DeliveryEngine(
        sessions,
        telegram,
        FAST,
        clock=Clock(),
        scan_interval=0.02,
        stop_timeout=STOP_TIMEOUT,
        renders=stalled,
    )
    await engine.start()
    async with asyncio.timeout(10):
        await stalled.entered.wait()
    # The claim committed: the rows are "sending" while the render never returns.
    assert (await run_counts(sessions, run_id))["sending"] == 6
    took = await _timed_stop(engine)
    assert took < STOP_TIMEOUT + SLACK
    # None of them went near Telegram: all back to pending, none unknown.
    assert await _reasons(sessions, run_id) == {("pending", None): 6}
    assert telegram.attempts == []
    # The next start sends every one of them, once.
    renders = RenderPool(workers=1)
    restarted = DeliveryEngine(
        sessions, telegram, FAST, clock=Clock(), scan_interval=0.02, renders=renders
    )
    await restarted.start()
    try:
        await run_finished(sessions, run_id)
    finally:
        await restarted.stop()
        await renders.close()
    counts = await run_counts(sessions, run_id)
    assert counts["sent"] == 6 and counts["unknown"] == 0
    assert sorted(s.chat_id for s in telegram.sent if s.chat_id >= 1000) == list(range(1000, 1006))


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_locked_database_at_stop_still_ends_in_time_and_the_next_start_sends_none_twice(
    sessions: Sessions, tmp_path: Path
) -> None:
    run_id = await _shop_run(sessions, 40)
    telegram = Slow()
    engine = _engine(sessions, telegram)
    await engine.start()
    await wait_until(sessions, lambda _: len(telegram.sent) >= 1)
    # Another process takes the write lock and keeps it past any deadline.
    locker = await _lock(tmp_path / "unit.db")
    try:
        took = await _timed_stop(engine)
    finally:
        locker.rollback()
        locker.close()
    # The last write may be inside SQLite's busy wait at the deadline: that ends on its own.
    assert took < STOP_TIMEOUT + SQLITE_BUSY_TIMEOUT_MS / 1000 + SLACK
    # What could not be recorded stays "sending" until the next start calls it unknown.
    restarted = _engine(sessions, telegram)
    await restarted.start()
    try:
        await run_finished(sessions, run_id)
    finally:
        await restarted.stop()
    counts = await run_counts(sessions, run_id)
    assert counts["sending"] == 0 and counts["pending"] == 0
    to_customers = Counter(s.chat_id for s in telegram.sent if s.chat_id >= 1000)
    assert max(to_customers.values()) == 1
    assert counts["sent"] + counts["unknown"] == 40
    assert counts["sent"] <= len(to_customers)


async def test_a_refresh_that_read_before_a_pause_does_not_undo_it(sessions: Sessions) -> None:
    run_id = await _shop_run(sessions, 3)
    book = RunBook(sessions, Clock())
    await book.refresh()
    state = book.get(run_id)
    assert state is not None and state.claimable
    bind = sessions.kw["bind"]
    assert isinstance(bind, AsyncEngine)

    def pause_meanwhile(*_: object) -> None:
        # The recorder commits a pause while the refresh is reading the old status.
        if state.status is RunStatus.RUNNING:
            state.error_streak = 5
            state.set_status(RunStatus.PAUSED)

    listen: Callable[..., None] = event.listen
    listen(bind.sync_engine, "after_cursor_execute", pause_meanwhile)
    try:
        await book.refresh()
    finally:
        event.remove(bind.sync_engine, "after_cursor_execute", pause_meanwhile)
    assert state.status is RunStatus.PAUSED and not state.claimable
    # The database's word wins at the next refresh: here an admin resumed the run.
    async with unit_of_work(sessions) as session:
        found = await session.get(CampaignRun, run_id)
        assert found is not None
        found.status = RunStatus.RUNNING
    await book.refresh()
    assert state.status is RunStatus.RUNNING and state.error_streak == 0
