"""The bot's event loop: uvloop where installed, and both adapters running on it."""

from __future__ import annotations

import asyncio
import gc
import sys

import pytest

from bot.config import TelegramSettings
from bot.messaging import Incoming, Kind
from bot.telegram import runtime
from tests.telegram.helpers import FRAMEWORKS, free_port, serve_emulator
from tests.telegram.test_telegram_runs import USER, _reply, running

uvloop = pytest.importorskip("uvloop")
pytestmark = pytest.mark.timeout(60)


def test_loop_factory_is_uvloop_where_installed() -> None:
    assert runtime.loop_factory() is uvloop.new_event_loop

    async def which() -> type[asyncio.AbstractEventLoop]:
        return type(asyncio.get_running_loop())

    assert runtime.run(which()) is uvloop.Loop


def test_loop_factory_is_asyncio_without_uvloop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # import uvloop raises ImportError
    assert runtime.loop_factory() is None


def test_settle_heap_freezes_what_is_alive() -> None:
    try:
        runtime.settle_heap()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("mode", ["polling", "webhook"])
def test_both_adapters_run_on_the_bot_loop(framework: str, mode: str) -> None:
    """A whole run on the loop the bot runs on (uvloop), emulator included."""

    async def scenario() -> Incoming:
        assert isinstance(asyncio.get_running_loop(), uvloop.Loop)
        port = free_port()
        async with serve_emulator() as emulator:
            settings = TelegramSettings.model_validate(
                {
                    "framework": framework,
                    "mode": mode,
                    "api_base_url": emulator.base_url,
                    "poll_timeout": 1,
                    "webhook_url": f"http://127.0.0.1:{port}/tg/hook",
                    "webhook_listen": f"127.0.0.1:{port}",
                    "webhook_secret": "s3cret_Token-1",
                }
            )
            async with running(settings) as received:
                await emulator.send(USER, "/start uv")
                incoming = await asyncio.wait_for(received.get(), 5)
                await _reply(emulator, "start uv")
        return incoming

    incoming = runtime.run(scenario())
    assert (incoming.kind, incoming.command, incoming.args) == (Kind.COMMAND, "start", "uv")
