"""Webhook mode: a request without the right secret or with a malformed body changes nothing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import webhook_options
from tests.e2e.harness import BotOptions, Person, Workspace, query

pytestmark = pytest.mark.timeout(120)

OWNER = 1001
SECRET = {"X-Telegram-Bot-Api-Secret-Token": "s3cret-Webhook_token"}


def _update(payload: str) -> dict[str, Any]:
    user = {"id": OWNER, "is_bot": False, "first_name": "Mallory"}
    text = f"/start {payload}"
    return {
        "update_id": 777000,
        "message": {
            "message_id": 1,
            "from": user,
            "chat": {"id": OWNER, "type": "private", "first_name": "Mallory"},
            "date": int(time.time()),
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }


async def test_webhook_rejects_missing_or_wrong_secret(
    options: BotOptions,
    workspace: Workspace,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
) -> None:
    webhook_options(options)
    await start_bot(options)
    owner = person(OWNER, "Wang")
    for secret in (None, "wrong-secret"):
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
        async with httpx.AsyncClient() as client:
            response = await client.post(
                options.webhook_url, json=_update(workspace.owner_payload), headers=headers
            )
        assert response.status_code in (401, 403), secret
        assert await owner.quiet(1.0) == []
        assert query(options.db_path, "SELECT count(*) FROM member") == [(0,)]

    # The real owner can still use the untouched invite through Telegram's own push.
    await owner.send(f"/start {workspace.owner_payload}")
    await owner.expect("Welcome to", "owner")


# One bot per framework takes every body in turn: starting a bot costs more than the checks.
MALFORMED = {
    "cut-json": (b'{"update_id": 1, "message": {', "application/json"),
    "not-json": (b"hello, bot", "application/json"),
    "not-utf8": (b"\xff\xfe\x00garbage", "application/json"),
    "json-array": (b"[1, 2, 3]", "application/json"),
    "no-update-id": (b'{"message": {"text": "hi"}}', "application/json"),
    "text-update-id": (b'{"update_id": "7"}', "application/json"),
    "bad-message": (b'{"update_id": 9, "message": {"text": 5}}', "application/json"),
    "wrong-type": (b"{}", "text/plain"),
}
REFUSED = "Webhook request refused"


async def test_webhook_answers_400_to_a_malformed_body(
    options: BotOptions,
    workspace: Workspace,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
) -> None:
    webhook_options(options)
    bot = await start_bot(options)
    before = len(bot.lines)
    for case, (body, content_type) in MALFORMED.items():
        refused = sum(REFUSED in line for line in bot.lines)
        async with httpx.AsyncClient() as client:
            response = await client.post(
                options.webhook_url,
                content=body,
                headers={**SECRET, "Content-Type": content_type},
            )
        assert response.status_code == 400, case
        assert response.text.startswith("Bad Request: "), case
        async with asyncio.timeout(10):
            while sum(REFUSED in line for line in bot.lines) <= refused:
                await asyncio.sleep(0.05)

    # The bot goes on serving Telegram's own pushes.
    owner = person(OWNER, "Wang")
    await owner.send(f"/start {workspace.owner_payload}")
    await owner.expect("Welcome to", "owner")
    logged = "\n".join(bot.lines[before:])
    assert "Traceback" not in logged
