"""Helpers for the adapter tests: constants, the emulator and its driver, a free-port finder."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

TOKEN = "123456:TEST-adapter-token"
BOT_USERNAME = "ScrmSandboxBot"
FRAMEWORKS = ["ptb", "aiogram"]


@dataclass
class Emulator:
    """Drive the Bot API emulator: its Bot API and its control API."""

    base_url: str
    http: aiohttp.ClientSession

    async def control(self, path: str, **payload: Any) -> Any:
        """POST JSON to a control endpoint and return the decoded answer."""
        async with self.http.post(f"{self.base_url}/_emulator/{path}", json=payload) as resp:
            assert resp.status < 300, (path, resp.status, await resp.text())
            return await resp.json()

    async def send(self, user_id: int, text: str) -> Any:
        """Inject a text message from a user."""
        return await self.control("send", user_id=user_id, text=text)

    async def press(self, user_id: int, message_id: int, data: str) -> Any:
        """Press an inline button."""
        return await self.control("callback", user_id=user_id, message_id=message_id, data=data)

    async def upload(self, user_id: int, filename: str, content: bytes) -> Any:
        """Upload a document as the user."""
        form = aiohttp.FormData()
        form.add_field("user_id", str(user_id))
        form.add_field("file", content, filename=filename, content_type="text/csv")
        async with self.http.post(f"{self.base_url}/_emulator/document", data=form) as resp:
            assert resp.status < 300, (resp.status, await resp.text())
            return await resp.json()

    async def fault(self, method: str, error_code: int, **extra: Any) -> None:
        """Make the next call(s) of a Bot API method fail."""
        await self.control("faults", method=method, error_code=error_code, **extra)

    async def messages(
        self, chat_id: int, after: int = 0, wait: float = 0, min_count: int = 0
    ) -> list[dict[str, Any]]:
        """List the messages in a chat, optionally waiting for at least ``min_count``."""
        params = {"after": str(after), "wait": str(wait), "min": str(min_count)}
        url = f"{self.base_url}/_emulator/chats/{chat_id}/messages"
        async with self.http.get(url, params=params) as resp:
            assert resp.status == 200, (resp.status, await resp.text())
            body = await resp.json()
        items = body["messages"] if isinstance(body, dict) else body
        assert isinstance(items, list)
        return items

    async def bot_api(self, method: str, **params: Any) -> Any:
        """Call the Bot API directly and return its ``result``."""
        async with self.http.post(f"{self.base_url}/bot{TOKEN}/{method}", json=params) as resp:
            body = await resp.json()
        assert body["ok"], body
        return body["result"]


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@asynccontextmanager
async def serve_emulator() -> AsyncIterator[Emulator]:
    """Serve a fresh Bot API emulator on a free 127.0.0.1 port until the block ends."""
    from bot.sandbox.server import EmulatorConfig, create_app

    app = create_app(EmulatorConfig(token=TOKEN, bot_username=BOT_USERNAME))
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        async with aiohttp.ClientSession() as http:
            yield Emulator(f"http://{host}:{port}", http)
    finally:
        await runner.cleanup()
