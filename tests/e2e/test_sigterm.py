"""SIGTERM during a campaign: the bot exits within 15 s, leaves nothing in flight, repeats nobody.

A broadcast to a few hundred customers goes out through an emulator that takes
a while to answer each message, so there are always requests on the wire; the
bot gets SIGTERM at a random moment while sending, is started again, and so on.
``BotProcess.stop`` fails the test when the bot needs SIGKILL or exits non-zero.
The emulator's chats are the truth about what people received.
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from tests.e2e.harness import STOP_TIMEOUT, BotOptions, BotProcess, Emulator, Workspace, query
from tests.e2e.test_delivery_crash import (
    add_broadcast,
    bot_messages_per_chat,
    create_users,
    outbox_by_status,
    seed_customers,
)

pytestmark = pytest.mark.e2e

CUSTOMERS = 400
FIRST_USER = 720_000
# Per framework: 20 stops in all.
STOPS = 10
# Every sendMessage waits this long in the emulator before it is performed.
LATENCY_MS = 300


def count(db_path: Path, run_id: int, status: str) -> int:
    """Return how many of the run's rows have ``status``."""
    rows = query(
        db_path,
        "SELECT count(*) FROM outbox_message WHERE run_id = ? AND status = ?",
        run_id,
        status,
    )
    return int(rows[0][0])


async def sending_began(db_path: Path, run_id: int, sent_before: int) -> None:
    """Wait until this start of the bot has messages out (one answered, more on the wire)."""
    async with asyncio.timeout(15):
        while count(db_path, run_id, "sent") <= sent_before:
            await asyncio.sleep(0.05)


async def test_sigterm_mid_campaign_exits_in_time_with_nothing_in_flight_and_no_repeats(
    options: BotOptions, emu: Emulator, workspace: Workspace
) -> None:
    ids = range(FIRST_USER, FIRST_USER + CUSTOMERS)
    await create_users(emu, ids)
    seed_customers(options.db_path, ids)
    run_id = add_broadcast(options.db_path)
    options.extra_env.update(
        {"SCRM_DELIVERY__RATE_PER_SECOND": "30", "SCRM_DELIVERY__CONCURRENCY": "8"}
    )
    await emu.post("faults", method="sendMessage", latency_ms=LATENCY_MS, times=None)
    rng = random.Random(20261201)
    exits: list[float] = []
    on_the_wire: list[int] = []
    for _ in range(STOPS):
        sent_before = count(options.db_path, run_id, "sent")
        bot = BotProcess(options)
        await bot.start()
        try:
            await sending_began(options.db_path, run_id, sent_before)
            await asyncio.sleep(rng.uniform(0.0, 0.6))
            on_the_wire.append(count(options.db_path, run_id, "sending"))
        finally:
            exits.append(await bot.stop())
        # Checked right after the exit, before any restart could recover anything.
        assert count(options.db_path, run_id, "sending") == 0
    await emu.http.delete("/_emulator/faults")

    outcome = outbox_by_status(options.db_path, run_id)
    received = await bot_messages_per_chat(emu)
    sent = outcome.get("sent", set())
    print(  # the figures, for the record (pytest -s)
        f"{options.framework}: {STOPS} SIGTERMs, exits max {max(exits):.2f} s, "
        f"mean {sum(exits) / len(exits):.2f} s; rows on the wire at the signal "
        f"{on_the_wire}; outcome { ({k: len(v) for k, v in outcome.items()}) }"
    )
    assert max(exits) < STOP_TIMEOUT
    assert sum(1 for n in on_the_wire if n) >= STOPS // 2, "the signals did not land mid-send"
    # The stops were clean: every request on the wire got its answer recorded.
    assert set(outcome) <= {"sent", "pending"}, {k: len(v) for k, v in outcome.items()}
    assert max(received.get(i, 0) for i in ids) == 1
    assert {i for i in ids if received.get(i, 0)} == sent


# The slowest stop there is (every deadline runs out): timed on a new interpreter,
# whose exit also collects everything the imports made.
@pytest.mark.new_interpreter
async def test_sigterm_while_telegram_never_answers_exits_in_time_and_calls_those_unknown(
    options: BotOptions, emu: Emulator, workspace: Workspace
) -> None:
    ids = range(FIRST_USER, FIRST_USER + 40)
    await create_users(emu, ids)
    seed_customers(options.db_path, ids)
    run_id = add_broadcast(options.db_path)
    options.extra_env.update({"SCRM_DELIVERY__CONCURRENCY": "4"})
    # Requests reach the emulator and hang there for longer than any shutdown may take.
    await emu.post("faults", method="sendMessage", latency_ms=120_000, times=None)
    bot = BotProcess(options)
    await bot.start()
    try:
        async with asyncio.timeout(15):
            while count(options.db_path, run_id, "sending") < 4:
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
    finally:
        took = await bot.stop()
    stats = (await emu.http.get("/_emulator/stats")).json()
    await emu.http.delete("/_emulator/faults")
    assert took < STOP_TIMEOUT
    outcome = {k: len(v) for k, v in outbox_by_status(options.db_path, run_id).items()}
    # Requests unanswered at the deadline are "unknown", never resent; claimed rows not yet
    # on the wire went back to pending; nothing is left "sending".
    on_the_wire = stats["requests_by_method"]["sendMessage"]
    assert on_the_wire >= 1
    assert outcome == {"unknown": on_the_wire, "pending": 40 - on_the_wire}
    assert "sends still unanswered, recorded unknown" in bot.output()
