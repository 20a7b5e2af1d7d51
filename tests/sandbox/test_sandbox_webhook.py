"""Webhooks: delivery with the secret header, retries, info, conflicts and validation."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from .helpers import Sandbox


@dataclass
class Receiver:
    """A webhook endpoint that records deliveries and fails the first ``failures``."""

    url: str = ""
    failures: int = 0
    reply: dict[str, Any] | None = None
    bodies: list[dict[str, Any]] = field(default_factory=list)
    secrets: list[str | None] = field(default_factory=list)
    attempts: int = 0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        self.attempts += 1
        self.secrets.append(request.headers.get("X-Telegram-Bot-Api-Secret-Token"))
        if self.failures > 0:
            self.failures -= 1
            return web.Response(status=500, text="boom")
        self.bodies.append(await request.json())
        self.arrived.set()
        if self.reply is not None:
            return web.json_response(self.reply)
        return web.Response(text="")

    async def wait_for(self, count: int, seconds: float = 10) -> None:
        async def enough() -> None:
            while len(self.bodies) < count:
                self.arrived.clear()
                await self.arrived.wait()

        await asyncio.wait_for(enough(), seconds)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hook = Receiver()
    app = web.Application()
    app.router.add_post("/hook", hook.handle)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    hook.url = str(server.make_url("/hook"))
    try:
        yield hook
    finally:
        await server.close()


async def test_updates_are_pushed_in_order_with_secret(
    sandbox: Sandbox, receiver: Receiver
) -> None:
    result = await sandbox.call("setWebhook", url=receiver.url, secret_token="s3cr_et-1")
    assert result == (200, {"ok": True, "result": True, "description": "Webhook was set"})
    for i in range(5):
        await sandbox.send(10, f"m{i}")
    await receiver.wait_for(5)
    assert [b["message"]["text"] for b in receiver.bodies] == [f"m{i}" for i in range(5)]
    ids = [b["update_id"] for b in receiver.bodies]
    assert ids == list(range(ids[0], ids[0] + 5))
    assert set(receiver.secrets) == {"s3cr_et-1"}
    info = await sandbox.ok("getWebhookInfo")
    assert info["url"] == receiver.url
    assert info["pending_update_count"] == 0
    assert info["has_custom_certificate"] is False
    assert info["max_connections"] == 40
    assert "last_error_date" not in info


async def test_failed_deliveries_are_retried_without_loss(
    sandbox: Sandbox, receiver: Receiver
) -> None:
    receiver.failures = 3
    await sandbox.ok("setWebhook", url=receiver.url)
    await sandbox.send(10, "first")
    await sandbox.send(10, "second")
    await receiver.wait_for(2)
    assert [b["message"]["text"] for b in receiver.bodies] == ["first", "second"]
    assert receiver.attempts == 5
    assert receiver.secrets[0] is None
    info = await sandbox.ok("getWebhookInfo")
    assert info["pending_update_count"] == 0
    assert (
        info["last_error_message"] == "Wrong response from the webhook: 500 Internal Server Error"
    )
    assert isinstance(info["last_error_date"], int)


async def test_unreachable_webhook_records_error_and_keeps_updates(sandbox: Sandbox) -> None:
    await sandbox.ok("setWebhook", url="http://127.0.0.1:9/hook")
    await sandbox.send(10, "kept")
    for _ in range(50):
        info = await sandbox.ok("getWebhookInfo")
        if "last_error_message" in info:
            break
        await asyncio.sleep(0.05)
    assert info["pending_update_count"] == 1
    assert info["last_error_message"]
    await sandbox.ok("deleteWebhook")
    assert [u["message"]["text"] for u in await sandbox.updates()] == ["kept"]


async def test_get_updates_conflicts_while_webhook_is_set(
    sandbox: Sandbox, receiver: Receiver
) -> None:
    await sandbox.ok("setWebhook", url=receiver.url)
    assert await sandbox.error("getUpdates") == (
        409,
        "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
        "delete the webhook first",
    )
    status, body = await sandbox.call("deleteWebhook")
    assert body == {"ok": True, "result": True, "description": "Webhook was deleted"}
    assert await sandbox.updates() == []
    _, body = await sandbox.call("deleteWebhook")
    assert body["description"] == "Webhook is already deleted"
    assert (await sandbox.ok("getWebhookInfo"))["url"] == ""


async def test_setting_a_webhook_ends_a_waiting_long_poll(
    sandbox: Sandbox, receiver: Receiver
) -> None:
    poll = asyncio.create_task(sandbox.call("getUpdates", timeout=10))
    await asyncio.sleep(0.2)
    await sandbox.ok("setWebhook", url=receiver.url)
    status, _ = await asyncio.wait_for(poll, 5)
    assert status == 409


async def test_drop_pending_updates(sandbox: Sandbox, receiver: Receiver) -> None:
    await sandbox.send(10, "old")
    await sandbox.ok("setWebhook", url="http://127.0.0.1:9/nowhere", drop_pending_updates=True)
    assert (await sandbox.ok("getWebhookInfo"))["pending_update_count"] == 0
    await sandbox.send(10, "new")
    await sandbox.ok("deleteWebhook", drop_pending_updates=True)
    assert await sandbox.updates() == []


async def test_webhook_validation(sandbox: Sandbox) -> None:
    assert await sandbox.error("setWebhook", url="http://example.com/hook") == (
        400,
        "Bad Request: bad webhook: An HTTPS URL must be provided for webhook",
    )
    assert await sandbox.error("setWebhook", url="https://example.com:9999/hook") == (
        400,
        "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443",
    )
    assert await sandbox.error(
        "setWebhook", url="http://127.0.0.1:8080/hook", secret_token="bad secret!"
    ) == (400, "Bad Request: secret token contains unallowed characters")
    assert await sandbox.error(
        "setWebhook", url="http://127.0.0.1:8080/hook", secret_token="x" * 257
    ) == (400, "Bad Request: secret token contains unallowed characters")


async def test_webhook_info_reports_allowed_updates(sandbox: Sandbox, receiver: Receiver) -> None:
    await sandbox.ok(
        "setWebhook", url=receiver.url, allowed_updates=["message"], max_connections=5
    )
    info = await sandbox.ok("getWebhookInfo")
    assert info["allowed_updates"] == ["message"]
    assert info["max_connections"] == 5
    # my_chat_member is not among the allowed updates: it is never queued.
    await sandbox.post("block", {"user_id": 10})
    state = await sandbox.get("state")
    assert state["pending_update_count"] == 0


async def test_webhook_answer_can_call_a_method(sandbox: Sandbox, receiver: Receiver) -> None:
    receiver.reply = {"method": "sendMessage", "chat_id": 10, "text": "answered inline"}
    await sandbox.ok("setWebhook", url=receiver.url)
    sent = await sandbox.send(10, "hi")
    await receiver.wait_for(1)
    messages = await sandbox.messages(10, after=sent["seq"], wait=5, from_bot=1)
    assert [m["text"] for m in messages] == ["answered inline"]


async def test_webhook_answer_in_multipart_form(sandbox: Sandbox) -> None:
    from bot.sandbox.webhook import parse_answer

    writer = aiohttp.MultipartWriter("form-data")
    for name, value in (("method", "sendMessage"), ("chat_id", "10"), ("text", "hé")):
        part = writer.append(value)
        part.set_content_disposition("form-data", name=name)
    chunks: list[bytes] = []

    class Sink:
        async def write(self, data: bytes) -> None:
            chunks.append(bytes(data))

    await writer.write(Sink())  # type: ignore[arg-type]
    params = parse_answer(writer.content_type, b"".join(chunks))
    assert params is not None
    assert params.text("method") == "sendMessage"
    assert params.integer("chat_id") == 10
    assert params.text("text") == "hé"
    assert parse_answer("application/json", json.dumps({"method": "getMe"}).encode()) is not None
