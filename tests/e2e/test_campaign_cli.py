"""The operator's command line: `campaign send` queues a broadcast the bot delivers; `status`."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.harness import ROOT, BotOptions, Person, Workspace, base_env, cli, execute

# A chat flow, not the adapters: one framework (see tests/e2e/conftest.py).
pytestmark = pytest.mark.parametrize("framework", ["aiogram"])

OWNER = 1001
CUSTOMERS = {3001: "Alice", 3002: "Bob", 3003: "Carol"}


async def failing_cli(*args: str, env: dict[str, str]) -> str:
    """Run ``python -m bot ARGS``, expect it to fail, and return what it printed on stderr."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=ROOT,
        env=base_env(env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await proc.communicate()
    assert proc.returncode != 0
    return err.decode()


async def test_campaign_send_queues_a_broadcast_the_bot_delivers(
    options: BotOptions,
    workspace: Workspace,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
) -> None:
    await start_bot(options)
    owner = person(OWNER, "Wang")
    await owner.send(f"/start {workspace.owner_payload}")
    await owner.expect("Welcome to")
    await owner.send("/quiet off")
    await owner.expect("Quiet hours are off")
    people = {uid: person(uid, name) for uid, name in CUSTOMERS.items()}
    for who in people.values():
        await who.send(f"/start w_{workspace.slug}")
        await who.expect("May we send you messages")
        await who.press("Yes")
        await who.expect("You're subscribed")
    execute(options.db_path, "UPDATE customer SET stage = 'won' WHERE tg_user_id IN (3001, 3003)")
    env = options.env()

    out = await cli(
        "campaign", "send", "--workspace", workspace.slug, "--template", "holiday",
        "--stage", "won", env=env,
    )  # fmt: skip
    run_id = int(out.strip())

    await people[3001].expect("Season's greetings, Alice!")
    await people[3003].expect("Season's greetings, Carol!")
    counts: dict[str, Any] = {}
    async with asyncio.timeout(20):
        while counts.get("status") != "finished":
            counts = json.loads(await cli("campaign", "status", str(run_id), env=env))
            await asyncio.sleep(0.3)
    assert counts["run_id"] == run_id
    assert (counts["total"], counts["sent"], counts["pending"], counts["failed"]) == (2, 2, 0, 0)
    assert counts["skipped"] == {}
    assert await people[3002].quiet(0.5) == []
    # Nobody created it in the chat, so the owner gets the report.
    await owner.expect("✅ Sent: 2")

    err = await failing_cli(
        "campaign", "send", "--workspace", workspace.slug, "--template", "nope", env=env
    )
    assert "There's no template “nope”" in err
    err = await failing_cli("campaign", "status", "99999", env=env)
    assert "No campaign run #99999" in err
