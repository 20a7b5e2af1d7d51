"""Fixtures: an emulator served on 127.0.0.1 with a client to drive it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.sandbox.server import EmulatorConfig, create_app

from .helpers import Sandbox


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    """Serve a fresh emulator and yield a client for it."""
    app = create_app(EmulatorConfig(), static_dir=None)
    server = TestServer(app, host="127.0.0.1", port=0, handler_cancellation=True)
    client = TestClient(server)
    await client.start_server()
    try:
        yield Sandbox(client)
    finally:
        await client.close()
