"""Both Messengers against the Bot API emulator: every method and the error mapping."""

from __future__ import annotations

import struct
import zlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import telegram
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from telegram.request import HTTPXRequest

from bot.errors import BadRequest, Blocked, DeliveryError, RetryAfter, TransientError
from bot.messaging import BotCommand, Button, CommandScope, Messenger
from bot.telegram import AiogramMessenger, PtbMessenger
from tests.telegram.helpers import BOT_USERNAME, FRAMEWORKS, TOKEN, Emulator, free_port

USER = 5001


def _png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    pixels = zlib.compress(b"".join(b"\x00" + bytes(width) for _ in range(height)))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", pixels)
        + chunk(b"IEND", b"")
    )


PNG = _png(4, 3)


@pytest.fixture
async def chat(emulator: Emulator) -> int:
    """Open a private chat: the user writes to the bot first."""
    await emulator.send(USER, "/start")
    return USER


async def _bot_messages(emulator: Emulator, chat_id: int) -> list[dict[str, Any]]:
    return [m for m in await emulator.messages(chat_id) if m["from_bot"]]


async def _next_update(emulator: Emulator, kind: str) -> dict[str, Any]:
    updates = await emulator.bot_api("getUpdates", timeout=0)
    found = [u[kind] for u in updates if kind in u]
    assert found, updates
    return found[-1]  # type: ignore[no-any-return]


async def test_username(messenger: Messenger) -> None:
    assert messenger.username == BOT_USERNAME


async def test_send_text_with_buttons(messenger: Messenger, emulator: Emulator, chat: int) -> None:
    buttons = [[Button("Yes", data="y"), Button("Site", url="https://example.com/")]]
    sent = await messenger.send_text(chat, "<b>Hello</b> &amp; welcome", buttons)
    assert sent.chat_id == chat
    last = (await _bot_messages(emulator, chat))[-1]
    assert last["message_id"] == sent.message_id
    assert last["text"] == "Hello & welcome"
    assert last["reply_markup"] == {
        "inline_keyboard": [
            [
                {"text": "Yes", "callback_data": "y"},
                {"text": "Site", "url": "https://example.com/"},
            ]
        ]
    }


async def test_send_text_without_buttons(
    messenger: Messenger, emulator: Emulator, chat: int
) -> None:
    await messenger.send_text(chat, "plain")
    last = (await _bot_messages(emulator, chat))[-1]
    assert last["text"] == "plain"
    assert not last.get("reply_markup")


async def test_edit_text(messenger: Messenger, emulator: Emulator, chat: int) -> None:
    sent = await messenger.send_text(chat, "draft", [[Button("Go", data="go")]])
    await messenger.edit_text(chat, sent.message_id, "<i>final</i>")
    last = (await _bot_messages(emulator, chat))[-1]
    assert (last["message_id"], last["text"]) == (sent.message_id, "final")
    assert not last.get("reply_markup")
    # Telegram answers "message is not modified"; the adapter treats it as done.
    await messenger.edit_text(chat, sent.message_id, "<i>final</i>")


async def test_edit_unknown_message_is_bad_request(messenger: Messenger, chat: int) -> None:
    with pytest.raises(BadRequest):
        await messenger.edit_text(chat, 987654, "nope")


async def test_send_document(messenger: Messenger, emulator: Emulator, chat: int) -> None:
    sent = await messenger.send_document(chat, "export.csv", b"name\nAnn\n", caption="<b>3</b>")
    assert sent.chat_id == chat
    last = (await _bot_messages(emulator, chat))[-1]
    assert (last["message_id"], last["kind"], last["text"]) == (sent.message_id, "document", "3")
    assert last["document"]["file_name"] == "export.csv"
    async with emulator.http.get(last["document"]["url"]) as resp:
        assert await resp.read() == b"name\nAnn\n"


async def test_send_photo(messenger: Messenger, emulator: Emulator, chat: int) -> None:
    sent = await messenger.send_photo(chat, PNG, caption="chart")
    assert sent.chat_id == chat
    last = (await _bot_messages(emulator, chat))[-1]
    assert (last["message_id"], last["kind"], last["text"]) == (sent.message_id, "photo", "chart")
    assert (last["photo"][-1]["width"], last["photo"][-1]["height"]) == (4, 3)


async def test_answer_callback(messenger: Messenger, emulator: Emulator, chat: int) -> None:
    sent = await messenger.send_text(chat, "Pick", [[Button("A", data="pick:a")]])
    await emulator.press(chat, sent.message_id, "pick:a")
    query = await _next_update(emulator, "callback_query")
    assert query["data"] == "pick:a"
    await messenger.answer_callback(query["id"], "Saved", alert=True)


async def test_download(messenger: Messenger, emulator: Emulator, chat: int) -> None:
    content = b"name,phone\nAnn,+6591234567\n"
    await emulator.upload(chat, "contacts.csv", content)
    message = await _next_update(emulator, "message")
    assert await messenger.download(message["document"]["file_id"]) == content


async def test_download_unknown_file_is_bad_request(messenger: Messenger) -> None:
    with pytest.raises(BadRequest):
        await messenger.download("no-such-file-id")


async def test_set_commands(messenger: Messenger, emulator: Emulator, chat: int) -> None:
    default = [BotCommand("start", "Start"), BotCommand("help", "Help")]
    mine = [BotCommand("contacts", "Contacts")]
    await messenger.set_commands(default, CommandScope())
    await messenger.set_commands(mine, CommandScope(chat_id=chat, language_code="en"))
    got_default = await emulator.bot_api("getMyCommands")
    got_chat = await emulator.bot_api(
        "getMyCommands", scope={"type": "chat", "chat_id": chat}, language_code="en"
    )
    assert [c["command"] for c in got_default] == ["start", "help"]
    assert [c["command"] for c in got_chat] == ["contacts"]


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ({"error_code": 429, "retry_after": 2}, RetryAfter),
        ({"error_code": 403}, Blocked),
        ({"error_code": 400}, BadRequest),
        ({"error_code": 500}, TransientError),
    ],
)
async def test_errors_are_mapped(
    messenger: Messenger,
    emulator: Emulator,
    chat: int,
    fault: dict[str, Any],
    error: type[DeliveryError],
) -> None:
    await emulator.fault("sendMessage", times=1, **fault)
    with pytest.raises(error) as caught:
        await messenger.send_text(chat, "hi")
    assert caught.value.__cause__ is not None
    if isinstance(caught.value, RetryAfter):
        assert caught.value.retry_after == 2.0
    # The fault is used up: the next call goes through.
    await messenger.send_text(chat, "hi again")


async def test_blocked_user(messenger: Messenger, emulator: Emulator, chat: int) -> None:
    await emulator.control("block", user_id=chat)
    with pytest.raises(Blocked):
        await messenger.send_text(chat, "still there?")


@pytest.fixture(params=FRAMEWORKS)
async def unreachable(request: pytest.FixtureRequest) -> AsyncIterator[Messenger]:
    """Yield a Messenger whose Bot API server refuses connections."""
    base = f"http://127.0.0.1:{free_port()}"
    if request.param == "ptb":
        requests = [HTTPXRequest(), HTTPXRequest()]
        bot = telegram.Bot(
            TOKEN, base_url=f"{base}/bot", request=requests[0], get_updates_request=requests[1]
        )
        ptb_messenger = PtbMessenger(bot, BOT_USERNAME)
        try:
            yield ptb_messenger
        finally:
            await ptb_messenger.aclose()
            for req in requests:
                await req.shutdown()
    else:
        session = AiohttpSession(api=TelegramAPIServer.from_base(base))
        try:
            yield AiogramMessenger(Bot(TOKEN, session=session), BOT_USERNAME)
        finally:
            await session.close()


async def test_network_failure_is_transient(unreachable: Messenger) -> None:
    with pytest.raises(TransientError):
        await unreachable.send_text(USER, "hi")
