"""A campaign run survives SIGKILL: no chat gets it twice, nobody is forgotten but "unknown".

5,000 opted-in customers (emulator users with chats) and a broadcast run are
written straight into the bot's database; the bot process is killed at random
moments and restarted until the run is done. The emulator's chats are the
truth about what people received.

Under python-telegram-bot only: campaign messages go out through the lean sender
both adapters share (``bot/telegram/_lean.py``), so the framework plays no part in
what a crash leaves behind. SIGKILL and restart under each framework are covered by
tests/e2e/test_profile.py, SIGTERM mid-campaign under each by test_sigterm.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.e2e.harness import BotOptions, BotProcess, Emulator, Workspace, execute, query

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("framework", ["ptb"])]

CUSTOMERS = 5_000
FIRST_USER = 700_000
CONCURRENCY = 16
KILLS = 5


def stamp(moment: datetime) -> str:
    """Return a UTC instant the way the bot stores it in SQLite."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


async def create_users(emu: Emulator, ids: range) -> None:
    """Create emulator users (each with a private chat) a few dozen requests at a time."""
    limit = asyncio.Semaphore(32)

    async def one(user_id: int) -> None:
        async with limit:
            await emu.post("users", id=user_id, first_name=f"Guest{user_id}")

    await asyncio.gather(*(one(user_id) for user_id in ids))


def seed_customers(db_path: Path, ids: range) -> None:
    """Insert opted-in customers whose chats are the emulator users, in one transaction."""
    now = stamp(datetime.now(UTC))
    with contextlib.closing(sqlite3.connect(db_path)) as conn:
        conn.executemany(
            "INSERT INTO customer (workspace_id, name, tg_user_id, chat_id, kind, consent,"
            " reachable, source, stage, score, created_at, updated_at)"
            " VALUES (1, ?, ?, ?, 'customer', 'opted_in', 1, 'staff', 'new', 0, ?, ?)",
            [(f"Guest{i} Tan", i, i, now, now) for i in ids],
        )
        # No quiet hours: the test must not depend on the hour it runs at in Shanghai.
        conn.execute("UPDATE workspace SET quiet_start = '00:00', quiet_end = '00:00'")
        conn.commit()


def add_broadcast(db_path: Path, template_key: str = "holiday") -> int:
    """Create a one-off broadcast campaign and its running run, as the campaign service would."""
    now = stamp(datetime.now(UTC))
    execute(
        db_path,
        "INSERT INTO campaign (workspace_id, name, kind, template_key, audience, send_time,"
        " status, created_at) VALUES (1, 'Crash test', 'broadcast', ?, '{}', '10:00',"
        " 'active', ?)",
        template_key,
        now,
    )
    execute(
        db_path,
        "INSERT INTO campaign_run (workspace_id, campaign_id, occurrence, template_key, status,"
        " paid_broadcast, scheduled_for, total, error_streak, created_at)"
        " VALUES (1, (SELECT max(id) FROM campaign), 'once', ?, 'running', 0, ?, 0, 0, ?)",
        template_key,
        now,
        now,
    )
    return int(query(db_path, "SELECT max(id) FROM campaign_run")[0][0])


def outbox_by_status(db_path: Path, run_id: int) -> dict[str, set[int]]:
    """Return the run's customers' chat ids grouped by outbox status."""
    rows = query(
        db_path,
        "SELECT o.status, c.chat_id FROM outbox_message o JOIN customer c ON c.id = o.customer_id"
        " WHERE o.run_id = ?",
        run_id,
    )
    found: dict[str, set[int]] = {}
    for status, chat_id in rows:
        found.setdefault(status, set()).add(int(chat_id))
    return found


async def bot_messages_per_chat(emu: Emulator) -> dict[int, int]:
    """Return how many messages each user's chat holds (users here never write)."""
    response = await emu.http.get("/_emulator/state")
    response.raise_for_status()
    return {int(u["id"]): int(u["message_count"]) for u in response.json()["users"]}


async def wait_reported(db_path: Path, run_id: int, timeout: float) -> None:
    """Wait until the run's report went out (the run is over)."""
    async with asyncio.timeout(timeout):
        while not query(
            db_path, "SELECT 1 FROM campaign_run WHERE id = ? AND reported_at IS NOT NULL", run_id
        ):
            await asyncio.sleep(0.2)


async def test_sigkill_mid_run_never_sends_twice_and_forgets_nobody(
    options: BotOptions, emu: Emulator, workspace: Workspace
) -> None:
    ids = range(FIRST_USER, FIRST_USER + CUSTOMERS)
    await create_users(emu, ids)
    seed_customers(options.db_path, ids)
    run_id = add_broadcast(options.db_path)
    options.extra_env.update(
        {
            "SCRM_DELIVERY__PAID_BROADCAST": "true",
            "SCRM_DELIVERY__RATE_PER_SECOND": "1000",
            "SCRM_DELIVERY__CONCURRENCY": str(CONCURRENCY),
        }
    )
    rng = random.Random(20261130)
    left_in_flight: list[int] = []
    # Strict mode allows 30 messages/s, or 1000/s for requests marked paid broadcast: a
    # 429-free run shows the adapter passes allow_paid_broadcast.
    await emu.post("strict", enabled=True)
    try:
        for _ in range(KILLS):
            bot = BotProcess(options)
            await bot.start()
            await asyncio.sleep(rng.uniform(0.3, 2.0))
            await bot.kill()
            sending = query(
                options.db_path,
                "SELECT count(*) FROM outbox_message WHERE run_id = ? AND status = 'sending'",
                run_id,
            )[0][0]
            left_in_flight.append(int(sending))
        bot = BotProcess(options)
        await bot.start()
        try:
            await wait_reported(options.db_path, run_id, timeout=240)
        finally:
            await bot.stop()
        stats = (await emu.http.get("/_emulator/stats")).json()
    finally:
        await emu.post("strict", enabled=False)
    assert stats["too_many_requests_sent"] == 0, stats

    outcome = outbox_by_status(options.db_path, run_id)
    received = await bot_messages_per_chat(emu)
    unknown = outcome.get("unknown", set())
    sent = outcome.get("sent", set())
    assert set(outcome) <= {"sent", "unknown"}, {k: len(v) for k, v in outcome.items()}
    assert len(sent) + len(unknown) == CUSTOMERS
    # Nobody got the campaign twice; everyone marked sent got it; the rest are unknown.
    assert max(received.get(i, 0) for i in ids) == 1
    assert all(received.get(i, 0) == 1 for i in sent)
    assert all(received.get(i, 0) == 0 for i in ids if i not in sent | unknown)
    # A crash can only leave what was on the wire: at most the concurrency, per crash.
    assert all(n <= CONCURRENCY for n in left_in_flight), left_in_flight
    assert len(unknown) == sum(left_in_flight) <= CONCURRENCY * KILLS
    assert sum(1 for n in left_in_flight if n) >= 1, "no kill landed while sending"
