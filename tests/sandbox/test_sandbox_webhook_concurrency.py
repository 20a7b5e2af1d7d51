"""Webhook delivery as the Bot API server does it: concurrent across chats, ordered within one."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from .helpers import Sandbox


@dataclass
class SlowReceiver:
    """A webhook endpoint that holds every request until released and records overlaps."""

    url: str = ""
    release: asyncio.Event = field(default_factory=asyncio.Event)
    failures: dict[str, int] = field(default_factory=dict)
    on_wire: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    peak: int = 0
    same_chat_overlap: bool = False
    texts: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    done: int = 0

    async def handle(self, request: web.Request) -> web.Response:
        body: dict[str, Any] = await request.json()
        chat = body["message"]["chat"]["id"]
        self.on_wire[chat] += 1
        self.same_chat_overlap |= self.on_wire[chat] > 1
        self.peak = max(self.peak, sum(self.on_wire.values()))
        try:
            await asyncio.wait_for(self.release.wait(), 10)
            text = body["message"]["text"]
            if self.failures.get(text, 0) > 0:
                self.failures[text] -= 1
                return web.Response(status=502, text="worker gone")
            self.texts[chat].append(text)
            self.done += 1
            return web.Response(text="")
        finally:
            self.on_wire[chat] -= 1

    async def wait_for(self, count: int) -> None:
        for _ in range(400):
            if self.done >= count:
                return
            await asyncio.sleep(0.025)
        pytest.fail(f"{self.done} of {count} updates delivered")


@pytest.fixture
async def slow() -> AsyncIterator[SlowReceiver]:
    hook = SlowReceiver()
    app = web.Application()
    app.router.add_post("/hook", hook.handle)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    hook.url = str(server.make_url("/hook"))
    try:
        yield hook
    finally:
        hook.release.set()
        await server.close()


async def test_deliveries_overlap_up_to_max_connections_one_per_chat(
    sandbox: Sandbox, slow: SlowReceiver
) -> None:
    await sandbox.ok("setWebhook", url=slow.url, max_connections=3)
    for round_ in range(3):
        for user in (11, 12, 13, 14, 15):
            await sandbox.send(user, f"{user}-{round_}")
    # Held by the receiver: as many on the wire as max_connections allows, no more.
    for _ in range(200):
        if slow.peak >= 3:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.2)
    assert slow.peak == 3
    slow.release.set()
    await slow.wait_for(15)
    assert not slow.same_chat_overlap
    for user in (11, 12, 13, 14, 15):
        assert slow.texts[user] == [f"{user}-{i}" for i in range(3)]
    info = await sandbox.ok("getWebhookInfo")
    assert info["pending_update_count"] == 0


async def test_a_failed_update_is_redelivered_and_its_chat_waits_behind_it(
    sandbox: Sandbox, slow: SlowReceiver
) -> None:
    slow.release.set()
    slow.failures = {"a-0": 2}
    await sandbox.ok("setWebhook", url=slow.url)
    for round_ in range(3):
        await sandbox.send(21, f"a-{round_}")
        await sandbox.send(22, f"b-{round_}")
    await slow.wait_for(6)
    # The other chat was not held up; the failed one kept its order.
    assert slow.texts[21] == ["a-0", "a-1", "a-2"]
    assert slow.texts[22] == ["b-0", "b-1", "b-2"]
    info = await sandbox.ok("getWebhookInfo")
    assert info["last_error_message"] == "Wrong response from the webhook: 502 Bad Gateway"
