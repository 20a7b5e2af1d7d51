"""Webhook mode: a request without the right secret or with a malformed body changes nothing."""

from __future__ import annotations

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


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        pytest.param(b'{"update_id": 1, "message": {', "application/json", id="cut-json"),
        pytest.param(b"hello, bot", "application/json", id="not-json"),
        pytest.param(b"\xff\xfe\x00garbage", "application/json", id="not-utf8"),
        pytest.param(b"[1, 2, 3]", "application/json", id="json-array"),
        pytest.param(b'{"message": {"text": "hi"}}', "application/json", id="no-update-id"),
        pytest.param(b'{"update_id": "7"}', "application/json", id="text-update-id"),
        pytest.param(
            b'{"update_id": 9, "message": {"text": 5}}', "application/json", id="bad-message"
        ),
        pytest.param(b"{}", "text/plain", id="wrong-type"),
    ],
)
async def test_webhook_answers_400_to_a_malformed_body(
    body: bytes,
    content_type: str,
    options: BotOptions,
    workspace: Workspace,
    start_bot: Callable[[BotOptions], Any],
    person: Callable[..., Person],
) -> None:
    webhook_options(options)
    bot = await start_bot(options)
    before = len(bot.lines)
    async with httpx.AsyncClient() as client:
        response = await client.post(
            options.webhook_url,
            content=body,
            headers={**SECRET, "Content-Type": content_type},
        )
    assert response.status_code == 400
    assert response.text.startswith("Bad Request: ")
    await bot.wait_for("Webhook request refused")

    # The bot goes on serving Telegram's own pushes.
    owner = person(OWNER, "Wang")
    await owner.send(f"/start {workspace.owner_payload}")
    await owner.expect("Welcome to", "owner")
    logged = "\n".join(bot.lines[before:])
    assert "Traceback" not in logged
