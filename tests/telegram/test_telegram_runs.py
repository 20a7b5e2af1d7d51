"""Whole runs of both adapters against the emulator: long polling and webhook."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from bot.config import TelegramSettings
from bot.messaging import BotCommand, CommandScope, Incoming, Kind, Messenger
from bot.telegram import run_bot
from tests.telegram.helpers import FRAMEWORKS, TOKEN, Emulator, free_port

USER = 6001
SECRET = "s3cret_Token-1"
pytestmark = pytest.mark.timeout(60)


@asynccontextmanager
async def running(settings: TelegramSettings) -> AsyncIterator[asyncio.Queue[Incoming]]:
    """Run the bot until the block ends; yield the updates its handler receives."""
    received: asyncio.Queue[Incoming] = asyncio.Queue()
    ready = asyncio.Event()
    stop = asyncio.Event()

    async def handler(incoming: Incoming, messenger: Messenger) -> None:
        received.put_nowait(incoming)
        if incoming.text == "boom":
            raise RuntimeError("handler bug")
        if incoming.kind is Kind.COMMAND:
            reply = f"<b>{incoming.command}</b> {incoming.args}"
            await messenger.send_text(incoming.chat_id, reply)

    async def on_ready(messenger: Messenger) -> None:
        await messenger.set_commands([BotCommand("start", "Start")], CommandScope())
        ready.set()

    run = asyncio.create_task(run_bot(settings, TOKEN, handler, on_ready, stop))
    waiting = asyncio.create_task(ready.wait())
    try:
        await asyncio.wait({run, waiting}, timeout=5, return_when=asyncio.FIRST_COMPLETED)
        if run.done():
            run.result()
        assert ready.is_set(), "the bot did not become ready"
        yield received
    finally:
        waiting.cancel()
        stop.set()
        await asyncio.wait_for(run, 5)


async def _reply(emulator: Emulator, text: str) -> dict[str, Any]:
    for _ in range(10):
        messages = await emulator.messages(USER, wait=0.5)
        found = [m for m in messages if m["from_bot"] and m["text"] == text]
        if found:
            return found[0]
    raise AssertionError(f"no reply {text!r} in the chat")


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_polling(framework: str, emulator: Emulator) -> None:
    settings = TelegramSettings(
        framework=framework, mode="polling", api_base_url=emulator.base_url, poll_timeout=1
    )
    await emulator.send(USER, "boom")  # pending before start: must not be dropped
    async with running(settings) as received:
        await emulator.send(USER, "/start x")
        first = await asyncio.wait_for(received.get(), 5)
        second = await asyncio.wait_for(received.get(), 5)
        await _reply(emulator, "start x")
    assert (first.kind, first.text) == (Kind.TEXT, "boom")
    assert second.kind is Kind.COMMAND
    assert (second.command, second.args, second.chat_id, second.user.id) == (
        "start",
        "x",
        USER,
        USER,
    )
    # Fetched updates were confirmed on shutdown, so a restart does not see them again.
    assert await emulator.bot_api("getUpdates", timeout=0) == []


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_webhook(framework: str, emulator: Emulator) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/tg/hook"
    settings = TelegramSettings.model_validate(
        {
            "framework": framework,
            "mode": "webhook",
            "api_base_url": emulator.base_url,
            "webhook_url": url,
            "webhook_listen": f"127.0.0.1:{port}",
            "webhook_secret": SECRET,
        }
    )
    forged = {
        "update_id": 990001,
        "message": {
            "message_id": 1,
            "from": {"id": USER, "is_bot": False, "first_name": "Eve"},
            "chat": {"id": USER, "first_name": "Eve", "type": "private"},
            "date": 1732350000,
            "text": "forged",
        },
    }
    async with running(settings) as received:
        for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
            async with emulator.http.post(url, json=forged, headers=headers) as resp:
                assert resp.status == 401
        await emulator.send(USER, "/start hooked")
        incoming = await asyncio.wait_for(received.get(), 5)
        await _reply(emulator, "start hooked")
    assert (incoming.kind, incoming.command, incoming.args) == (Kind.COMMAND, "start", "hooked")
    assert received.empty()
