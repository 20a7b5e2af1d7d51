"""Webhook mode: a request without the right secret is rejected and changes nothing."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import webhook_options
from tests.e2e.harness import BotOptions, Person, Workspace, query

OWNER = 1001


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


@pytest.mark.parametrize("secret", [None, "wrong-secret"])
async def test_webhook_rejects_missing_or_wrong_secret(
    secret: str | None,
    options: BotOptions,
    workspace: Workspace,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
) -> None:
    webhook_options(options)
    await start_bot(options)
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
    async with httpx.AsyncClient() as client:
        response = await client.post(
            options.webhook_url, json=_update(workspace.owner_payload), headers=headers
        )
    assert response.status_code in (401, 403)
    owner = person(OWNER, "Wang")
    assert await owner.quiet(1.0) == []
    assert query(options.db_path, "SELECT count(*) FROM member") == [(0,)]

    # The real owner can still use the untouched invite through Telegram's own push.
    await owner.send(f"/start {workspace.owner_payload}")
    await owner.expect("Welcome to", "owner")
