"""Fixtures for the adapter tests: an in-process Bot API emulator and both Messengers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import telegram
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot.messaging import Messenger
from bot.telegram import AiogramMessenger, PtbMessenger
from tests.telegram.helpers import FRAMEWORKS, TOKEN, Emulator, serve_emulator


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    """Serve a fresh Bot API emulator on a free 127.0.0.1 port."""
    async with serve_emulator() as served:
        yield served


@pytest.fixture(params=FRAMEWORKS)
async def messenger(
    request: pytest.FixtureRequest, emulator: Emulator
) -> AsyncIterator[Messenger]:
    """Yield each framework's Messenger connected to the emulator."""
    if request.param == "ptb":
        ptb_bot = telegram.Bot(
            TOKEN,
            base_url=f"{emulator.base_url}/bot",
            base_file_url=f"{emulator.base_url}/file/bot",
        )
        async with ptb_bot:
            ptb_messenger = PtbMessenger(ptb_bot, ptb_bot.username)
            try:
                yield ptb_messenger
            finally:
                await ptb_messenger.aclose()
    else:
        session = AiohttpSession(api=TelegramAPIServer.from_base(emulator.base_url))
        aiogram_bot = Bot(TOKEN, session=session)
        try:
            me = await aiogram_bot.me()
            yield AiogramMessenger(aiogram_bot, me.username or "")
        finally:
            await session.close()
