"""Health and metrics: /readyz follows the database, /metrics agrees with what Telegram saw."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.harness import BotOptions, Emulator, Person, Workspace, cli, execute, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("framework", ["ptb"])]

OWNER = 1001
CUSTOMERS = {3001: "Alice", 3002: "Bob", 3003: "Carol"}
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def with_ops(options: BotOptions) -> str:
    """Turn the endpoints on at a free port; return their base URL."""
    port = free_port()
    options.extra_env["SCRM_OPS__LISTEN"] = f"127.0.0.1:{port}"
    return f"http://127.0.0.1:{port}"


async def scrape(base: str) -> Samples:
    """Return every sample of /metrics by name and labels."""
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.get(f"{base}/metrics")
    response.raise_for_status()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def total(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    """Sum the samples of ``name`` whose labels include ``labels``."""
    return sum(
        value
        for (found, have), value in samples.items()
        if found == name and set(labels.items()) <= set(have)
    )


async def readyz(base: str) -> tuple[int, dict[str, bool]]:
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.get(f"{base}/readyz")
    return response.status_code, json.loads(response.text)


async def test_readyz_follows_the_database_and_healthz_the_process(
    options: BotOptions, workspace: Workspace, start_bot: Callable[[BotOptions], Any]
) -> None:
    base = with_ops(options)
    await start_bot(options)
    async with httpx.AsyncClient(timeout=10) as http:
        assert (await http.get(f"{base}/healthz")).status_code == 200
    status, body = await readyz(base)
    assert (status, body) == (
        200,
        {"database": True, "receiving": True, "scheduler": True, "leader": True, "ready": True},
    )

    moved = options.db_path.with_name("elsewhere.db")
    options.db_path.rename(moved)
    try:
        status, body = await readyz(base)
        assert status == 503 and body["database"] is False and body["ready"] is False
        # The process itself is fine: a service manager must not restart it for this.
        async with httpx.AsyncClient(timeout=10) as http:
            assert (await http.get(f"{base}/healthz")).status_code == 200
    finally:
        moved.replace(options.db_path)
    status, body = await readyz(base)
    assert status == 200 and body["ready"] is True


async def test_metrics_count_what_the_emulator_saw_in_a_scripted_session(
    options: BotOptions,
    emu: Emulator,
    workspace: Workspace,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
) -> None:
    base = with_ops(options)
    await start_bot(options)
    updates = 0
    owner = person(OWNER, "Wang")
    await owner.send(f"/start {workspace.owner_payload}")
    await owner.expect("Welcome to")
    await owner.send("/quiet off")
    await owner.expect("Quiet hours are off")
    updates += 2
    people = {uid: person(uid, name) for uid, name in CUSTOMERS.items()}
    for who in people.values():
        await who.send(f"/start w_{workspace.slug}")
        await who.expect("May we send you messages")
        await who.press("Yes")
        await who.expect("You're subscribed")
        updates += 2
    await owner.send("/nosuchcommand")
    await owner.expect("I don't know /nosuchcommand")
    updates += 1

    # Bob has blocked the bot by the time the campaign reaches him; Carol's first try
    # meets flood control (429, retry after 1 s).
    await emu.post("faults", method="sendMessage", error_code=403, chat_id=3002, times=1)
    await emu.post(
        "faults", method="sendMessage", error_code=429, retry_after=1, chat_id=3003, times=1
    )
    execute(options.db_path, "UPDATE customer SET stage = 'won'")
    run_id = int(
        await cli(
            "campaign", "send", "--workspace", workspace.slug, "--template", "holiday",
            env=options.env(),
        )
    )  # fmt: skip
    await people[3001].expect("Season's greetings, Alice!")
    await people[3003].expect("Season's greetings, Carol!")
    async with asyncio.timeout(20):
        while (
            json.loads(await cli("campaign", "status", str(run_id), env=options.env()))["status"]
            != "finished"
        ):
            await asyncio.sleep(0.3)
    await asyncio.sleep(0.5)  # the last update's replies are counted after they are sent

    samples = await scrape(base)
    stats = (await emu.http.get("/_emulator/stats")).json()
    by_method = stats["requests_by_method"]
    assert total(samples, "scrm_updates_handled_total") == updates
    assert total(samples, "scrm_updates_handled_total", outcome="ok") == updates
    assert total(samples, "scrm_updates_handled_total", kind="callback") == len(CUSTOMERS)
    assert total(samples, "scrm_handler_seconds_count") == updates
    assert (
        total(samples, "scrm_replies_sent_total", kind="answer")
        == by_method["answerCallbackQuery"]
    )
    # Alice and Carol received the campaign; Bob's 403 and Carol's 429 were the faults.
    assert total(samples, "scrm_campaign_messages_sent_total") == 2
    assert total(samples, "scrm_telegram_errors_total", code="403") == 1
    assert total(samples, "scrm_telegram_errors_total", code="429") == 1
    assert total(samples, "scrm_telegram_errors_total") == stats["faults_injected"] == 2
    assert total(samples, "scrm_retry_after_wait_seconds_total") == 1.0
    assert total(samples, "scrm_outbox_rows", status="sent") == 2
    assert total(samples, "scrm_outbox_rows", status="blocked") == 1
    assert total(samples, "scrm_scheduler_lag_seconds_count") > 0
    assert total(samples, "scrm_db_pool_size") >= 1
    # Each update here got one reply: a text, or the consent question edited in place.
    texts = total(samples, "scrm_replies_sent_total", kind="text")
    edits = total(samples, "scrm_replies_sent_total", kind="edit")
    assert texts + edits == updates
    assert edits == by_method["editMessageText"] == len(CUSTOMERS)
