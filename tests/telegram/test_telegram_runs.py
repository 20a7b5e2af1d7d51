"""Whole runs of both adapters against the emulator: long polling and webhook."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

from bot.config import TelegramSettings
from bot.messaging import (
    CAPTION_KINDS,
    BotCommand,
    Button,
    CommandScope,
    Incoming,
    Kind,
    Messenger,
)
from bot.telegram import run_bot
from tests.telegram.helpers import FRAMEWORKS, TOKEN, Emulator, free_port

USER = 6001
SECRET = "s3cret_Token-1"
pytestmark = pytest.mark.timeout(60)


Handler = Callable[[Incoming, Messenger], Awaitable[None]]


@asynccontextmanager
async def running(
    settings: TelegramSettings, relay: Handler | None = None
) -> AsyncIterator[asyncio.Queue[Incoming]]:
    """Run the bot until the block ends; yield the updates its handler receives.

    The handler answers commands, unless ``relay`` is given: then it handles every update.
    """
    received: asyncio.Queue[Incoming] = asyncio.Queue()
    ready = asyncio.Event()
    stop = asyncio.Event()

    async def handler(incoming: Incoming, messenger: Messenger) -> None:
        received.put_nowait(incoming)
        if relay is not None:
            await relay(incoming, messenger)
            return
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
    return await _bot_message(emulator, USER, lambda m: m["text"] == text)


async def _bot_message(
    emulator: Emulator, chat_id: int, wanted: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    for _ in range(10):
        messages = await emulator.messages(chat_id, wait=0.5)
        found = [m for m in messages if m["from_bot"] and wanted(m)]
        if found:
            return found[0]
    raise AssertionError(f"no such bot message in chat {chat_id}")


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


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_relay_and_swipe_reply(framework: str, emulator: Emulator) -> None:
    """A customer's voice reaches the rep as a voice; the rep's swipe-reply goes back."""
    customer, rep = USER, USER + 1
    relayed: dict[int, int] = {}  # the copy in the rep's chat -> the customer's message

    async def relay(incoming: Incoming, messenger: Messenger) -> None:
        assert incoming.own_message_id is not None
        if incoming.chat_id == customer:
            caption = (
                f"<b>{incoming.user.first_name}</b>" if incoming.kind in CAPTION_KINDS else None
            )
            copy = await messenger.copy_message(
                rep,
                customer,
                incoming.own_message_id,
                caption=caption,
                buttons=[[Button("Card", data="card:1")]],
            )
            relayed[copy.message_id] = incoming.own_message_id
        elif incoming.reply_to_message_id in relayed:
            await messenger.copy_message(
                customer,
                rep,
                incoming.own_message_id,
                reply_to_message_id=relayed[incoming.reply_to_message_id],
            )

    await emulator.control("users", id=customer, first_name="Zhao")
    await emulator.control("users", id=rep, first_name="Li")
    settings = TelegramSettings(
        framework=framework, mode="polling", api_base_url=emulator.base_url, poll_timeout=1
    )
    async with running(settings, relay) as received:
        voice = await emulator.control("voice", user_id=customer, duration=4, caption="pu'er?")
        incoming = await asyncio.wait_for(received.get(), 5)
        copy = await _bot_message(emulator, rep, lambda m: m["kind"] == "voice")
        await emulator.control(
            "send", user_id=rep, text="Yes, 2 cakes", reply_to_message_id=copy["message_id"]
        )
        answer = await asyncio.wait_for(received.get(), 5)
        back = await _bot_message(emulator, customer, lambda m: m["text"] == "Yes, 2 cakes")
    assert (incoming.kind, incoming.caption, incoming.own_message_id) == (
        Kind.VOICE,
        "pu'er?",
        voice["message_id"],
    )
    assert incoming.file is not None
    assert incoming.file.duration == 4
    assert copy["text"] == "Zhao"
    assert copy["reply_markup"] == {
        "inline_keyboard": [[{"text": "Card", "callback_data": "card:1"}]]
    }
    assert answer.reply_to_message_id == copy["message_id"]
    assert back["reply_to_message_id"] == voice["message_id"]
