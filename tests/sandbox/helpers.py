"""A small client for driving the emulator in tests: Bot API calls and control calls."""

from __future__ import annotations

import json
import struct
import zlib
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient

TOKEN = "123456789:AAsandbox-token-for-local-testing_only"
BOT_ID = 123456789


class Sandbox:
    """Call the emulator behind a TestClient."""

    def __init__(self, client: TestClient[Any, Any], token: str = TOKEN) -> None:
        self.client = client
        self.token = token

    @property
    def url(self) -> str:
        """Return the server's base URL, e.g. http://127.0.0.1:12345."""
        return str(self.client.make_url("")).rstrip("/")

    async def call(self, method: str, **params: Any) -> tuple[int, dict[str, Any]]:
        """POST a Bot API method with a JSON body; return (HTTP status, body)."""
        async with self.client.post(f"/bot{self.token}/{method}", json=params) as resp:
            return resp.status, await resp.json()

    async def form(self, method: str, **params: Any) -> tuple[int, dict[str, Any]]:
        """POST a Bot API method form-encoded, JSON-valued params as JSON text."""
        data = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
        async with self.client.post(f"/bot{self.token}/{method}", data=data) as resp:
            return resp.status, await resp.json()

    async def ok(self, method: str, **params: Any) -> Any:
        """Call a method that must succeed; return its result."""
        status, body = await self.call(method, **params)
        assert status == 200, body
        assert body["ok"] is True, body
        return body["result"]

    async def error(self, method: str, **params: Any) -> tuple[int, str]:
        """Call a method that must fail; return (error_code, description)."""
        status, body = await self.call(method, **params)
        assert body["ok"] is False, body
        assert status == body["error_code"]
        return body["error_code"], body["description"]

    async def post(self, path: str, body: Any = None, status: int = 200) -> Any:
        """POST JSON to a control endpoint and check the status."""
        async with self.client.post(f"/_emulator/{path}", json=body or {}) as resp:
            assert resp.status == status, await resp.text()
            return await resp.json()

    async def get(self, path: str, status: int = 200, **query: Any) -> Any:
        """GET a control endpoint and check the status."""
        params = {k: str(v) for k, v in query.items()}
        async with self.client.get(f"/_emulator/{path}", params=params) as resp:
            assert resp.status == status, await resp.text()
            return await resp.json()

    async def send(self, user_id: int, text: str, **extra: Any) -> dict[str, Any]:
        """Make a user send a text message."""
        result: dict[str, Any] = await self.post(
            "send", {"user_id": user_id, "text": text, **extra}
        )
        return result

    async def upload(self, path: str, fields: dict[str, Any]) -> tuple[int, Any]:
        """POST multipart form data (bytes values become file parts) to a URL path."""
        form = aiohttp.FormData()
        for name, value in fields.items():
            if isinstance(value, tuple):
                filename, content = value
                form.add_field(name, content, filename=filename)
            else:
                form.add_field(name, value if isinstance(value, str) else json.dumps(value))
        async with self.client.post(path, data=form) as resp:
            return resp.status, await resp.json()

    async def messages(self, chat_id: int, **query: Any) -> list[dict[str, Any]]:
        """Return a chat's messages as the control API lists them."""
        body = await self.get(f"chats/{chat_id}/messages", **query)
        result: list[dict[str, Any]] = body["messages"]
        return result

    async def updates(self, **params: Any) -> list[dict[str, Any]]:
        """Fetch updates with getUpdates."""
        result: list[dict[str, Any]] = await self.ok("getUpdates", **params)
        return result


def make_png(width: int, height: int) -> bytes:
    """Return a valid greyscale PNG of the given size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def keyboard(*rows: list[tuple[str, str]]) -> dict[str, Any]:
    """Return an inline keyboard of (text, callback_data) buttons."""
    return {"inline_keyboard": [[{"text": t, "callback_data": d} for t, d in row] for row in rows]}
