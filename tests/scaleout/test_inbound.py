"""Three workers behind nginx: every customer's messages answered once and in order.

2,000 customers each start a complaint in two messages (``/complain``, then what
went wrong), all of them writing at once, so their updates interleave and
Telegram (the emulator) posts them concurrently through nginx to whichever worker
is least busy. A dialog's steps land on different workers; its state is in the
database. Each customer must see the two answers in order, once each (the second
only makes sense after the first), and the dialog of each must wait at its next
step holding that customer's own words.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import text

from bench import cluster
from bot.crm.store import create_engine
from tests.e2e.harness import Emulator
from tests.scaleout.workers import workers

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

CUSTOMERS = 2_000
FIRST = 100_000
WORKERS = 3
# Two answers per customer, in this order.
ANSWERS = ("We're sorry something went wrong", "Want to add a photo?")


async def _write(emu: Emulator, user: int, limit: asyncio.Semaphore) -> None:
    async with limit:
        for text_ in ("/complain", f"Cup {user} broke"):
            await emu.post("send", user_id=user, text=text_, first_name=f"Guest{user}")


async def _answers(emu: Emulator, user: int, limit: asyncio.Semaphore) -> list[str]:
    async with limit:
        batch = await emu.messages(user, wait=0)
    return [m.get("text") or "" for m in batch if m.get("from_bot")]


async def _wait_handled(url: str, count: int, timeout: float) -> None:
    engine = create_engine(url)
    try:
        async with asyncio.timeout(timeout):
            while True:  # noqa: ASYNC110 - polling the workers' database
                async with engine.connect() as conn:
                    done = await conn.scalar(text("SELECT count(*) FROM processed_update"))
                if int(done or 0) >= count:
                    return
                await asyncio.sleep(0.5)
    finally:
        await engine.dispose()


async def test_interleaved_customers_are_answered_once_in_order_across_workers(
    pg_url: str, emu: Emulator, launcher: Path, tmp_path: Path
) -> None:
    users = range(FIRST, FIRST + CUSTOMERS)
    await cluster.seed_shop(pg_url, customers=users)
    limit = asyncio.Semaphore(64)

    async def make(user: int) -> None:
        async with limit:
            await emu.post("users", id=user, first_name=f"Guest{user}")

    await asyncio.gather(make(1), *(make(user) for user in users))
    async with workers(
        api=emu.url, url=pg_url, launcher=launcher, tmp=tmp_path, count=WORKERS
    ) as procs:
        await asyncio.gather(*(_write(emu, user, limit) for user in users))
        await _wait_handled(pg_url, len(ANSWERS) * CUSTOMERS, timeout=180)
        # The last answers go out just after the commit that recorded their update.
        await asyncio.sleep(1.0)
        seen = await asyncio.gather(*(_answers(emu, user, limit) for user in users))
        handled = [sum("update" in line and "failed" in line for line in p.lines) for p in procs]
    wrong = {
        user: texts
        for user, texts in zip(users, seen, strict=True)
        if len(texts) != len(ANSWERS)
        or not all(want in got for want, got in zip(ANSWERS, texts, strict=True))
    }
    assert not wrong, f"{len(wrong)} customers saw other answers, e.g. {list(wrong.items())[:3]}"
    assert handled == [0] * WORKERS
    engine = create_engine(pg_url)
    try:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    text("SELECT user_id, step, data FROM conversation_state WHERE dialog = :d"),
                    {"d": "complain"},
                )
            ).all()
            updates = await conn.scalar(text("SELECT count(*) FROM processed_update"))
    finally:
        await engine.dispose()
    per_customer = Counter(user for user, _, _ in rows)
    assert len(per_customer) == CUSTOMERS
    assert set(per_customer.values()) == {1}
    assert all(step == "photo" for _, step, _ in rows)
    assert all(data["text"] == f"Cup {user} broke" for user, _, data in rows)
    assert updates == len(ANSWERS) * CUSTOMERS
