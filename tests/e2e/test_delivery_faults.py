"""A run through Telegram's trouble: 429 with retry_after, 10 % 5xx and users who blocked the bot.

Every reachable customer gets exactly one message, nothing is sent while
Telegram asked to wait, and the blocked ones are marked unreachable (a consent
event) and counted in the report the owner receives.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.harness import BotOptions, Emulator, Person, Workspace, query
from tests.e2e.test_delivery_crash import (
    add_broadcast,
    bot_messages_per_chat,
    create_users,
    seed_customers,
    wait_reported,
)

# A chat flow, not the adapters: one framework (see tests/e2e/conftest.py).
pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("framework", ["ptb"])]

OWNER = 4242
FIRST_USER = 800_000
CUSTOMERS = 60
RETRY_AFTER = 2


async def stats(emu: Emulator) -> dict[str, Any]:
    response = await emu.http.get("/_emulator/stats")
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


async def watch_gate(emu: Emulator) -> tuple[int, int]:
    """Wait for the 429, then return sendMessage counts at it and at the end of its window."""
    async with asyncio.timeout(30):
        while (now := await stats(emu))["too_many_requests_sent"] < 1:
            await asyncio.sleep(0.01)
    shut_at = time.monotonic()
    at_429 = int(now["requests_by_method"].get("sendMessage", 0))
    # Look until just before the window ends (polling lag only shortens what we watch).
    while time.monotonic() - shut_at < RETRY_AFTER - 0.15:
        await asyncio.sleep(0.02)
    during = int((await stats(emu))["requests_by_method"].get("sendMessage", 0))
    return at_429, during


async def test_retry_after_5xx_and_403_reach_everyone_once_and_report_the_blocked(
    options: BotOptions,
    emu: Emulator,
    workspace: Workspace,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
) -> None:
    ids = range(FIRST_USER, FIRST_USER + CUSTOMERS)
    blocked = {ids[5], ids[17], ids[29], ids[41], ids[53]}
    await create_users(emu, ids)
    seed_customers(options.db_path, ids)
    await start_bot(options)
    owner = person(OWNER, "Wang")
    await owner.send(f"/start {workspace.owner_payload}")
    await owner.expect("Welcome to")

    # The first campaign message meets flood control; then 403s and 10 % 5xx, customers only.
    await emu.post(
        "faults",
        method="sendMessage",
        error_code=429,
        retry_after=RETRY_AFTER,
        chat_id=ids[0],
        times=1,
    )
    for chat_id in ids:
        if chat_id in blocked:
            await emu.post(
                "faults", method="sendMessage", error_code=403, chat_id=chat_id, times=None
            )
        else:
            await emu.post(
                "faults",
                method="sendMessage",
                error_code=502,
                chat_id=chat_id,
                times=None,
                probability=0.1,
                seed=7,
            )
    run_id = add_broadcast(options.db_path)
    at_429, during = await watch_gate(emu)
    assert during == at_429, "a message went out while Telegram asked to wait"
    await wait_reported(options.db_path, run_id, timeout=60)

    received = await bot_messages_per_chat(emu)
    assert {i for i in ids if received.get(i, 0) == 1} == set(ids) - blocked
    assert all(received.get(i, 0) == 0 for i in blocked)
    counts = dict(
        query(
            options.db_path,
            "SELECT status, count(*) FROM outbox_message WHERE run_id = ? GROUP BY status",
            run_id,
        )
    )
    assert counts == {"sent": CUSTOMERS - len(blocked), "blocked": len(blocked)}
    unreachable = {
        int(chat_id)
        for (chat_id,) in query(
            options.db_path, "SELECT chat_id FROM customer WHERE reachable = 0"
        )
    }
    assert unreachable == blocked
    events = query(options.db_path, "SELECT count(*) FROM consent_event WHERE action = 'blocked'")
    assert events[0][0] == len(blocked)
    report = await owner.expect("Campaign “Crash test” is done.")
    assert f"Sent: {CUSTOMERS - len(blocked)}" in report["text"]
    assert f"Blocked the bot: {len(blocked)}" in report["text"]
    assert (await stats(emu))["faults_injected"] >= 1 + len(blocked)
