"""Claiming keeps every slot busy: with a slow Telegram, ``concurrency`` requests stay out."""

from __future__ import annotations

import asyncio
from collections import deque

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.campaigns.delivery import DeliveryEngine
from bot.config import DeliverySettings
from bot.messaging import Keyboard, SentMessage
from tests.campaigns.delivery.helpers import Clock, FakeTelegram, run_counts
from tests.campaigns.delivery.test_stopping import _shop_run

pytestmark = pytest.mark.timeout(60)

Sessions = async_sessionmaker[AsyncSession]
# Telegram's default pace and a per-chat interval, as a shop runs it.
PACED = DeliverySettings(
    rate_per_second=30,
    concurrency=8,
    per_chat_interval_seconds=1.0,
    max_attempts=3,
    pause_after_errors=5,
    batch_size=50,
)


class Held(FakeTelegram):
    """A Telegram that answers a request only when the test lets it, oldest first."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting: deque[asyncio.Future[None]] = deque()
        self.peak = 0

    async def send_text(
        self, chat_id: int, text: str, buttons: Keyboard = (), *, paid_broadcast: bool = False
    ) -> SentMessage:
        answer = asyncio.get_running_loop().create_future()
        self.waiting.append(answer)
        self.peak = max(self.peak, len(self.waiting))
        try:
            await answer
        finally:
            if answer in self.waiting:
                self.waiting.remove(answer)
        return await super().send_text(chat_id, text, buttons, paid_broadcast=paid_broadcast)

    def answer_oldest(self) -> None:
        self.waiting.popleft().set_result(None)


async def _until_on_the_wire(telegram: Held, n: int) -> None:
    async with asyncio.timeout(5):
        while len(telegram.waiting) < n:
            await asyncio.sleep(0.005)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_each_answer_is_followed_by_a_new_request_so_concurrency_stay_on_the_wire(
    sessions: Sessions,
) -> None:
    n = PACED.concurrency
    run_id = await _shop_run(sessions, 40)
    telegram = Held()
    engine = DeliveryEngine(sessions, telegram, PACED, clock=Clock(), scan_interval=0.02)
    await engine.start()
    try:
        await _until_on_the_wire(telegram, n)
        # One answer at a time: the freed slot is claimed into and sent again while the
        # other requests are still unanswered (the pace is not the limit here, slots are).
        for answered in range(1, 3 * n + 1):
            telegram.answer_oldest()
            await _until_on_the_wire(telegram, n)
            assert len(telegram.sent) == answered
        assert telegram.peak == n
    finally:
        while telegram.waiting:
            telegram.answer_oldest()
        await engine.stop()
    counts = await run_counts(sessions, run_id)
    assert counts["unknown"] == 0 and counts["sending"] == 0
