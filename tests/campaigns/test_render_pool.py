"""The render pool: worker processes with a hard time limit, killed and replaced on overrun.

The runaway renders here use ``leaky_worker``: the real worker with one sandbox
guard removed, standing for a construct nobody thought of. Only the pool's
hard limit can stop those.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.campaigns import template_versions, templates
from bot.campaigns.render_pool import (
    BUSY,
    TIMED_OUT,
    Failure,
    Job,
    Problem,
    RenderPool,
    RenderUnavailable,
)
from bot.crm.models import TemplateVersion
from bot.crm.store import unit_of_work
from bot.errors import InvalidInput, TemplateError
from bot.i18n import translate
from tests.campaigns.delivery.helpers import make_shop

pytestmark = pytest.mark.timeout(60)

LEAKY = (sys.executable, "-m", "tests.campaigns.leaky_worker")
# Fine for the sample customer (120 points); spins inside one call for a big balance.
GUARDED = (
    "{% if points > 100000 %}{{ points|round(-99999999) }}{% else %}Hello {{ name }}{% endif %}"
)
# The same hole reached at save: the precision is computed, so the rules cannot see it.
RUNAWAY_AT_SAVE = "Hi {{ points|round(points - 100000120) }}"
# The hard limit is 1 s; killing and reaping the worker adds milliseconds. The rest is
# room for a machine busy with other work.
STOPPED_WITHIN = 2.0
NOW = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)


def sample(**overrides: object) -> dict[str, object]:
    return templates.sample_variables("en") | overrides


@pytest.fixture
async def pool() -> AsyncIterator[RenderPool]:
    renders = RenderPool(workers=2)
    yield renders
    await renders.close()


@pytest.fixture
async def leaky() -> AsyncIterator[RenderPool]:
    renders = RenderPool(workers=1, command=LEAKY)
    yield renders
    await renders.close()


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


async def test_a_batch_comes_back_in_order_with_a_reason_for_each_failure(
    pool: RenderPool,
) -> None:
    jobs = [Job("Hi {{ first_name }}, {{ points }} points", sample(points=n)) for n in range(300)]
    jobs[7] = Job("{{ 10 // (points - 7) }}", sample(points=7))
    jobs[8] = Job("{{ points|round(0 - points) }}", sample(points=10**6))
    results = await pool.render(jobs)
    assert results[0] == "Hi Mei, 0 points"
    assert results[299] == "Hi Mei, 299 points"
    assert results[7] == Failure(templates.FAILED, Problem.ERROR)
    assert isinstance(results[8], Failure)
    assert results[8].problem is Problem.ERROR
    assert translate("en", results[8].reason).startswith("|round can keep at most 20 digits")
    assert pool.killed == 0


async def test_a_runaway_render_is_killed_within_the_limit_and_the_worker_replaced(
    leaky: RenderPool,
) -> None:
    await leaky.start()
    (first_pid,) = leaky.pids()
    ticks: list[float] = []

    async def heartbeat() -> None:
        while True:
            ticks.append(time.monotonic())
            await asyncio.sleep(0.01)

    beating = asyncio.create_task(heartbeat())
    started = time.monotonic()
    results = await leaky.render(
        [
            Job(GUARDED, sample(points=5)),
            Job(GUARDED, sample(points=10**6)),
            Job(GUARDED, sample(points=6)),
            Job("Bye {{ name }}", sample()),
        ]
    )
    took = time.monotonic() - started
    beating.cancel()
    assert results[0] == "Hello Mei Chen"
    # The runaway recipient, and the rest of the batch on the same text, are failed as slow.
    assert results[1] == Failure(TIMED_OUT, Problem.SLOW)
    assert results[2] == Failure(TIMED_OUT, Problem.SLOW)
    assert results[3] == "Bye Mei Chen"
    assert took < STOPPED_WITHIN, took
    # The event loop kept running the whole time.
    assert max(b - a for a, b in zip(ticks, ticks[1:], strict=False)) < 0.5
    assert leaky.killed == 1
    assert gone(first_pid)
    assert leaky.pids() and leaky.pids() != [first_pid]
    assert await leaky.render_one("Hi {{ first_name }}", sample()) == "Hi Mei"


async def test_render_one_raises_the_reason_for_a_preview(leaky: RenderPool) -> None:
    with pytest.raises(TemplateError) as failed:
        await leaky.render_one(GUARDED, sample(points=10**6))
    assert failed.value.reason == TIMED_OUT
    assert await leaky.render_one(GUARDED, sample()) == "Hello Mei Chen"


async def test_a_runaway_text_is_refused_at_save_with_a_friendly_reason(
    sessions: async_sessionmaker[AsyncSession], leaky: RenderPool
) -> None:
    async with unit_of_work(sessions) as session:
        shop = await make_shop(session, [])
        started = time.monotonic()
        with pytest.raises(InvalidInput) as refused:
            await template_versions.save_version(
                session,
                actor=shop.admin,
                key="welcome",
                locale="en",
                variant="",
                body=RUNAWAY_AT_SAVE,
                now=NOW,
                renders=leaky,
            )
        assert time.monotonic() - started < STOPPED_WITHIN
        assert await session.scalar(select(func.count()).select_from(TemplateVersion)) == 0
    assert refused.value.key == TIMED_OUT
    assert translate("en", refused.value.key) == (
        "The template takes too long to fill in, so it was stopped. "
        "Keep it simpler: fewer loops, filters and calculations."
    )
    assert translate("zh-CN", refused.value.key).startswith("模板填充耗时太长，已被停止。")


async def test_no_free_worker_means_later_never_a_template_problem() -> None:
    busy = RenderPool(workers=1, command=LEAKY, wait_seconds=0.2)
    try:
        hung = asyncio.create_task(busy.render([Job(GUARDED, sample(points=10**6))]))
        await asyncio.sleep(0.3)  # the only worker is now stuck in the runaway render
        assert await busy.render([Job("Hi", sample())]) == [Failure(BUSY, Problem.LATER)]
        with pytest.raises(RenderUnavailable):
            await busy.render_one("Hi", sample())
        assert (await hung)[0] == Failure(TIMED_OUT, Problem.SLOW)
        assert await busy.render_one("Hi {{ name }}", sample()) == "Hi Mei Chen"
    finally:
        await busy.close()


async def test_a_worker_that_cannot_start_means_later() -> None:
    broken = RenderPool(workers=1, command=(sys.executable, "-c", "pass"), wait_seconds=1)
    try:
        assert await broken.render([Job("Hi", sample())]) == [Failure(BUSY, Problem.LATER)]
        with pytest.raises(RenderUnavailable) as unavailable:
            await broken.check("Hi {{ name }}")
        assert translate("zh-CN", unavailable.value.key) == "暂时无法检查模板，请您稍后再试。"
    finally:
        await broken.close()


async def test_close_ends_every_worker_quickly_even_mid_render() -> None:
    renders = RenderPool(workers=2, command=LEAKY)
    await renders.start()
    pids = renders.pids()
    assert len(pids) == 2
    hung = asyncio.create_task(renders.render([Job(GUARDED, sample(points=10**6))]))
    await asyncio.sleep(0.2)
    started = time.monotonic()
    await renders.close()
    hung.cancel()
    await asyncio.gather(hung, return_exceptions=True)
    assert time.monotonic() - started < 3.5
    assert renders.pids() == []
    assert all(gone(pid) for pid in pids)
    assert await renders.render([Job("Hi", sample())]) == [Failure(BUSY, Problem.LATER)]


async def test_a_cancelled_batch_kills_its_worker(leaky: RenderPool) -> None:
    await leaky.start()
    (pid,) = leaky.pids()
    batch = asyncio.create_task(leaky.render([Job(GUARDED, sample(points=10**6))]))
    await asyncio.sleep(0.2)
    batch.cancel()
    with pytest.raises(asyncio.CancelledError):
        await batch
    assert gone(pid)
    assert await leaky.render_one("Hi {{ name }}", sample()) == "Hi Mei Chen"
