"""Campaign texts that fail or run away at send time: those customers skipped, admins told once.

The guarded template is fine for the sample customer and for small balances;
only a big balance takes the branch that asks ``|round`` for a huge precision.
The sandbox refuses that; a worker with that guard removed (a hole nobody has
found yet) spins until the render pool kills it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.campaigns.delivery import DeliveryEngine
from bot.campaigns.render_pool import RenderPool
from bot.crm.models import (
    MessageTemplate,
    OutboxMessage,
    OutboxStatus,
    PointsEntry,
    PointsReason,
    TemplateVersion,
)
from bot.crm.store import unit_of_work
from tests.campaigns.delivery.helpers import FAST, Clock, FakeTelegram, make_run, make_shop
from tests.campaigns.delivery.helpers import run_finished as reported

pytestmark = pytest.mark.timeout(60)

Sessions = async_sessionmaker[AsyncSession]
GUARDED = (
    "{% if points > 100000 %}{{ points|round(0 - points * 100) }}"
    "{% else %}Hello {{ name }}{% endif %}"
)
# The bug report's form, saved before the rules bounded a written-out precision.
GUARDED_LITERAL = (
    "{% if points > 100000 %}{{ points|round(-99999999) }}{% else %}Hello {{ name }}{% endif %}"
)
LEAKY = (sys.executable, "-m", "tests.campaigns.leaky_worker")
ADMIN_CHAT = 901  # the shop's admin in make_shop; the run has no creator, so admins hear


@pytest.fixture
async def real_pool() -> AsyncIterator[RenderPool]:
    renders = RenderPool(workers=1)
    yield renders
    await renders.close()


@pytest.fixture
async def leaky_pool() -> AsyncIterator[RenderPool]:
    renders = RenderPool(workers=1, command=LEAKY)
    yield renders
    await renders.close()


async def guarded_run(sessions: Sessions, balances: list[int], body: str = GUARDED) -> int:
    """Seed a shop whose 'vip_note' text is ``body``, customers with these balances."""
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session, [f"Guest{n} Tan" for n in range(len(balances))])
        template = MessageTemplate(
            workspace_id=shop.workspace.id, key="vip_note", locale="en", current_version=1
        )
        session.add(template)
        await session.flush()
        session.add(
            TemplateVersion(
                workspace_id=shop.workspace.id, template_id=template.id, version=1, body=body
            )
        )
        for customer, balance in zip(shop.customers, balances, strict=True):
            session.add(
                PointsEntry(
                    workspace_id=shop.workspace.id,
                    customer_id=customer.id,
                    delta=balance,
                    reason=PointsReason.ADJUST,
                )
            )
        run = await make_run(session, shop, template_key="vip_note")
    return run.id


async def outcomes(sessions: Sessions, run_id: int) -> list[tuple[OutboxStatus, str | None]]:
    async with sessions() as session:
        rows = await session.execute(
            select(OutboxMessage.status, OutboxMessage.reason)
            .where(OutboxMessage.run_id == run_id)
            .order_by(OutboxMessage.id)
        )
        return [(status, reason) for status, reason in rows]


async def deliver(
    sessions: Sessions, telegram: FakeTelegram, renders: RenderPool, run: int
) -> None:
    engine = DeliveryEngine(
        sessions, telegram, FAST, clock=Clock(), scan_interval=0.02, renders=renders
    )
    await engine.start()
    try:
        await reported(sessions, run)
    finally:
        await engine.stop()


def notices(telegram: FakeTelegram) -> list[str]:
    return [text for text in telegram.texts_to(ADMIN_CHAT) if "template vip_note" in text]


async def test_a_number_too_big_skips_those_customers_and_admins_hear_once(
    sessions: Sessions, real_pool: RenderPool
) -> None:
    run = await guarded_run(sessions, [50, 500_000, 70, 900_000])
    telegram = FakeTelegram()
    await deliver(sessions, telegram, real_pool, run)
    assert await outcomes(sessions, run) == [
        (OutboxStatus.SENT, None),
        (OutboxStatus.SKIPPED, "template_error"),
        (OutboxStatus.SENT, None),
        (OutboxStatus.SKIPPED, "template_error"),
    ]
    assert telegram.texts_to(1000) == ["Hello Guest0 Tan"]
    assert telegram.texts_to(1001) == []
    (notice,) = notices(telegram)
    assert notice.startswith("⚠️ Campaign “Spring hello”: the template vip_note can't be filled")
    report = [t for t in telegram.texts_to(ADMIN_CHAT) if "is done" in t]
    assert "the template could not be filled in: 2" in report[0]


async def test_a_runaway_render_is_stopped_its_customers_skipped_and_admins_hear_once(
    sessions: Sessions, leaky_pool: RenderPool
) -> None:
    # Ids ascend with the list: the two small balances are claimed before the big ones.
    run = await guarded_run(sessions, [50, 70, 500_000, 900_000])
    telegram = FakeTelegram()
    started = time.monotonic()
    await deliver(sessions, telegram, leaky_pool, run)
    assert time.monotonic() - started < 15
    assert await outcomes(sessions, run) == [
        (OutboxStatus.SENT, None),
        (OutboxStatus.SENT, None),
        (OutboxStatus.SKIPPED, "template_too_slow"),
        (OutboxStatus.SKIPPED, "template_too_slow"),
    ]
    assert leaky_pool.killed == 1  # the second big balance was not tried again
    (notice,) = notices(telegram)
    assert "takes too long to fill in" in notice
    report = [t for t in telegram.texts_to(ADMIN_CHAT) if "is done" in t]
    assert "the template took too long to fill in: 2" in report[0]
    assert leaky_pool.pids()  # replaced, ready for the next run


async def test_a_text_saved_before_todays_rules_skips_everyone_it_is_for(
    sessions: Sessions, real_pool: RenderPool
) -> None:
    run = await guarded_run(sessions, [50, 500_000], GUARDED_LITERAL)
    telegram = FakeTelegram()
    await deliver(sessions, telegram, real_pool, run)
    assert await outcomes(sessions, run) == [(OutboxStatus.SKIPPED, "template_error")] * 2
    assert len(notices(telegram)) == 1
