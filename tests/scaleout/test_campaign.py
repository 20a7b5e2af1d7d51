"""A campaign to 5,000 customers across three workers at Telegram's cap, two of them killed.

The emulator runs in strict mode (429 above 30 messages/s overall or 1/s per
chat, as Telegram). The workers share one pace through the database, so together
they stay under the cap: no 429 at all. About a third of the way in the leader is
SIGKILLed (another must lead within 10 s), later one of the two left; the last
worker finishes the run. Nobody gets the message twice; every customer's row is
``sent`` or, for the few a dead worker had in flight, ``unknown``; the run is
reported once, to the owner.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bench import cluster
from tests.e2e.harness import Emulator
from tests.scaleout.failover import TAKEOVER_SECONDS, execute, kill_leader, leaders, rows
from tests.scaleout.workers import workers

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

CUSTOMERS = 5_000
FIRST = 300_000
# delivery.concurrency: the most one worker has claimed and not settled.
CONCURRENCY = 16
BROADCAST = (
    "INSERT INTO campaign (workspace_id, name, kind, template_key, audience, send_time,"
    " status, created_at) VALUES (1, 'Scale', 'broadcast', 'holiday', '{}', '10:00',"
    " 'active', now())",
    "INSERT INTO campaign_run (workspace_id, campaign_id, occurrence, template_key, status,"
    " paid_broadcast, scheduled_for, total, error_streak, created_at)"
    " VALUES (1, (SELECT max(id) FROM campaign), 'once', 'holiday', 'running', false, now(),"
    " 0, 0, now())",
)


async def _sent(url: str) -> int:
    [(count,)] = await rows(url, "SELECT count(*) FROM outbox_message WHERE status = 'sent'")
    return int(count)


async def _wait_sent(url: str, count: int) -> None:
    async with asyncio.timeout(240):
        while await _sent(url) < count:  # noqa: ASYNC110 - polling the workers' database
            await asyncio.sleep(0.5)


@pytest.mark.timeout(420)
async def test_capped_campaign_with_leader_and_worker_killed(
    pg_url: str, emu: Emulator, launcher: Path, tmp_path: Path
) -> None:
    users = range(FIRST, FIRST + CUSTOMERS)
    await cluster.seed_shop(pg_url, customers=users)
    limit = asyncio.Semaphore(32)

    async def make(user: int) -> None:
        async with limit:
            await emu.post("users", id=user, first_name=f"G{user}")

    await asyncio.gather(make(1), *(make(user) for user in users))
    await emu.post("strict", enabled=True, global_per_second=30, chat_per_second=1)
    async with workers(api=emu.url, url=pg_url, launcher=launcher, tmp=tmp_path, count=3) as procs:
        for sql in BROADCAST:
            await execute(pg_url, sql, {})
        await _wait_sent(pg_url, 1500)
        takeover = await kill_leader(procs)
        await _wait_sent(pg_url, 3000)
        [survivor] = leaders(procs)
        await next(
            p for p in procs if p is not survivor and p.proc and p.proc.returncode is None
        ).kill()
        async with asyncio.timeout(240):
            while not await rows(
                pg_url, "SELECT 1 FROM campaign_run WHERE reported_at IS NOT NULL"
            ):
                await asyncio.sleep(0.5)
        owner = [m for m in await emu.messages(1) if m.get("from_bot")]
        stats = (await emu.http.get("/_emulator/stats")).json()
        state = (await emu.http.get("/_emulator/state")).json()
    assert takeover < TAKEOVER_SECONDS
    told = [line for p in procs for line in p.lines if "429" in line or "not delivered" in line]
    assert stats["too_many_requests_sent"] == 0, (stats["violations"], told)
    received = {int(u["id"]): int(u["message_count"]) for u in state["users"]}
    assert max(received[user] for user in users) == 1
    by_status: dict[str, set[int]] = {}
    for status, chat in await rows(
        pg_url,
        "SELECT o.status, c.chat_id FROM outbox_message o JOIN customer c ON c.id = o.customer_id",
    ):
        by_status.setdefault(status, set()).add(int(chat))
    assert set(by_status) <= {"sent", "unknown"}, {k: len(v) for k, v in by_status.items()}
    sent, unknown = by_status["sent"], by_status.get("unknown", set())
    assert len(sent) + len(unknown) == CUSTOMERS
    # Two workers died: each may have left what it had claimed and not settled.
    assert len(unknown) <= 2 * CONCURRENCY
    assert all(received[chat] == 1 for chat in sent)
    assert len(owner) == 1
    report = owner[0].get("text") or ""
    assert f"Sent: {len(sent)}" in report and f"not resent): {len(unknown)}" in report
