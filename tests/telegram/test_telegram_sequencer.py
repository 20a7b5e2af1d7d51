"""Per-chat ordering, cross-chat concurrency and failure isolation of ChatSequencer."""

from __future__ import annotations

import asyncio
import logging
from typing import cast

import pytest

from bot.config import TelegramSettings
from bot.errors import ConfigError
from bot.messaging import Incoming, Kind, Messenger, User
from bot.telegram import ChatSequencer, run_bot
from bot.telegram._common import split_command, webhook_params

NO_MESSENGER = cast(Messenger, object())


def _incoming(update_id: int, chat_id: int, text: str = "") -> Incoming:
    return Incoming(update_id, Kind.TEXT, chat_id, User(chat_id), text=text)


async def test_keeps_order_per_chat_and_overlaps_chats() -> None:
    log: list[tuple[str, int, int]] = []
    running = 0
    peak = 0

    async def handler(incoming: Incoming, messenger: Messenger) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        log.append(("start", incoming.chat_id, incoming.update_id))
        # Earlier updates take longer, so a naive concurrent run would reorder them.
        await asyncio.sleep(0.03 if incoming.update_id % 2 else 0.001)
        log.append(("end", incoming.chat_id, incoming.update_id))
        running -= 1

    sequencer = ChatSequencer(handler, NO_MESSENGER)
    for update_id in range(1, 7):
        sequencer.submit(_incoming(update_id, chat_id=100 + update_id % 2))
    await sequencer.drain(grace=5)

    for chat_id in (100, 101):
        starts = [u for event, c, u in log if c == chat_id and event == "start"]
        assert starts == sorted(starts)
        events = [(event, u) for event, c, u in log if c == chat_id]
        # Strictly one at a time within a chat: start/end alternate.
        assert [e for e, _ in events] == ["start", "end"] * 3
    assert peak == 2


async def test_a_failing_handler_does_not_stop_the_chat(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[int] = []

    async def handler(incoming: Incoming, messenger: Messenger) -> None:
        seen.append(incoming.update_id)
        if incoming.update_id == 1:
            raise RuntimeError("boom")

    sequencer = ChatSequencer(handler, NO_MESSENGER)
    with caplog.at_level(logging.ERROR):
        sequencer.submit(_incoming(1, 7, text="secret text"))
        sequencer.submit(_incoming(2, 7))
        await sequencer.drain(grace=5)
    assert seen == [1, 2]
    assert "Handler failed on update 1" in caplog.text
    assert "secret text" not in caplog.text


async def test_drain_cancels_stuck_handlers() -> None:
    cancelled = asyncio.Event()

    async def handler(incoming: Incoming, messenger: Messenger) -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    sequencer = ChatSequencer(handler, NO_MESSENGER)
    sequencer.submit(_incoming(1, 7))
    sequencer.submit(_incoming(2, 7))
    await asyncio.sleep(0)
    await sequencer.drain(grace=0.05)
    assert cancelled.is_set()


@pytest.mark.parametrize(
    ("entity", "text", "expected"),
    [
        ("/start", "/start inv_abc", ("start", "inv_abc")),
        ("/Help@ScrmSandboxBot", "/Help@ScrmSandboxBot", ("help", "")),
        ("/add", "/add  Ann Lee \n", ("add", "Ann Lee")),
    ],
)
def test_split_command(entity: str, text: str, expected: tuple[str, str]) -> None:
    assert split_command(entity, text) == expected


def test_webhook_params_use_the_url_path() -> None:
    settings = TelegramSettings(
        mode="webhook",
        webhook_url="https://bot.example.com/tg/hook?x=1",
        webhook_secret="abc_DEF-123",
    )
    assert webhook_params(settings) == (
        "https://bot.example.com/tg/hook?x=1",
        "/tg/hook",
        "abc_DEF-123",
    )


@pytest.mark.parametrize("framework", ["ptb", "aiogram"])
@pytest.mark.parametrize(
    "missing", [{"webhook_secret": "abc"}, {"webhook_url": "https://bot.example.com/hook"}]
)
async def test_webhook_mode_needs_url_and_secret(framework: str, missing: dict[str, str]) -> None:
    settings = TelegramSettings.model_validate(
        {"framework": framework, "mode": "webhook", **missing}
    )

    async def handler(incoming: Incoming, messenger: Messenger) -> None:
        raise AssertionError

    async def on_ready(messenger: Messenger) -> None:
        raise AssertionError

    with pytest.raises(ConfigError):
        await run_bot(settings, "123456:TEST-token", handler, on_ready, asyncio.Event())
